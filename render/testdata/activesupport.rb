# ActiveSupport's Object#blank?, #present? and #presence
# (activesupport/lib/active_support/core_ext/object/blank.rb), which Rails
# config templates use and plain Ruby lacks.
class Object
  def blank?
    respond_to?(:empty?) ? !!empty? : !self
  end

  def present?
    !blank?
  end

  def presence
    self if present?
  end
end

class NilClass
  def blank?
    true
  end
end

class FalseClass
  def blank?
    true
  end
end

class TrueClass
  def blank?
    false
  end
end

class Array
  alias_method :blank?, :empty?
end

class Numeric
  def blank?
    false
  end
end

class String
  BLANK_RE = /\A[[:space:]]*\z/

  def blank?
    empty? || BLANK_RE.match?(self)
  end
end

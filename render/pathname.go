package render

import "strings"

// Ruby's Pathname#join and Pathname#+, ported line by line from
// pathname.rb (Ruby 3.1): they resolve "." and ".." lexically against the
// base, without cleaning the rest of the path, and an absolute argument
// starts over. Pathname#cleanpath is a different operation; templates
// that print Rails.root.join(...) get exactly what Ruby prints.

// pathnameJoin is Pathname#join: base.join(parts...).
func pathnameJoin(base string, parts []string) string {
	if len(parts) == 0 {
		return base
	}
	result := parts[len(parts)-1]
	if strings.HasPrefix(result, "/") {
		return result
	}
	for i := len(parts) - 2; i >= 0; i-- {
		result = pathnamePlus(parts[i], result)
		if strings.HasPrefix(result, "/") {
			return result
		}
	}
	return pathnamePlus(base, result)
}

// chopBasename is Pathname#chop_basename: the path without its last
// component, and that component; ok is false when there is none (the
// path is "", "/" or made of slashes only).
func chopBasename(path string) (prefix, base string, ok bool) {
	base = fileBasename(path, "")
	if base == "" || base == "/" {
		return "", "", false
	}
	return path[:strings.LastIndex(path, base)], base, true
}

// pathnamePlus is Pathname#+ (Pathname#plus in pathname.rb).
func pathnamePlus(path1, path2 string) string {
	prefix2 := path2
	var indexList2 []int
	var basenameList2 []string
	for {
		p, b, ok := chopBasename(prefix2)
		if !ok {
			break
		}
		prefix2 = p
		indexList2 = append([]int{len(p)}, indexList2...)
		basenameList2 = append([]string{b}, basenameList2...)
	}
	if prefix2 != "" {
		return path2
	}
	shift := func() {
		indexList2 = indexList2[1:]
		basenameList2 = basenameList2[1:]
	}
	prefix1 := path1
	for {
		for len(basenameList2) > 0 && basenameList2[0] == "." {
			shift()
		}
		p, b, ok := chopBasename(prefix1)
		if !ok {
			break
		}
		prefix1 = p
		if b == "." {
			continue
		}
		if b == ".." || len(basenameList2) == 0 || basenameList2[0] != ".." {
			prefix1 += b
			break
		}
		shift()
	}
	_, _, hasBase := chopBasename(prefix1)
	if !hasBase && strings.Contains(fileBasename(prefix1, ""), "/") {
		// prefix1 is the root: ".." above it stays at it.
		hasBase = true
		for len(basenameList2) > 0 && basenameList2[0] == ".." {
			shift()
		}
	}
	if len(basenameList2) > 0 {
		suffix2 := path2[indexList2[0]:]
		if hasBase {
			return fileJoin([]string{prefix1, suffix2})
		}
		return prefix1 + suffix2
	}
	if hasBase {
		return prefix1
	}
	return fileDirname(prefix1)
}

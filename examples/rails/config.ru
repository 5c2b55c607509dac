# A stand-in for config.ru of a Rails application.
run ->(env) { [200, {"content-type" => "text/plain"}, ["ok\n"]] }

# Puma's settings for the web role (bundle exec puma -C config/puma.rb).
max_threads = Integer(ENV.fetch("RAILS_MAX_THREADS", 5))
threads max_threads, max_threads
port ENV.fetch("PORT", 3000)
environment ENV.fetch("RAILS_ENV", "development")
workers Integer(ENV.fetch("WEB_CONCURRENCY", 0))
# entry forwards SIGTERM from ECS; puma finishes in-flight requests within
# this many seconds, below the role's stop_timeout (10s by default).
worker_shutdown_timeout 8

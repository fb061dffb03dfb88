// shoald: the shoal storage server. Serves the bricks of its volumes to clients over TCP.
//
// Prints "shoald ready listen=ADDR:PORT" on stdout once it accepts connections (scripts and tests
// wait for that line), and stops cleanly on SIGTERM or SIGINT.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/host_port.h"
#include "common/log.h"
#include "net/listener.h"
#include "net/worker_pool.h"
#include "server/session.h"
#include "server/volume_registry.h"

namespace {

struct Options {
  std::string data_dir = "/var/lib/shoal";
  std::string listen = "0.0.0.0";
  std::vector<std::string> volumes;
  std::string log_file;
  std::string log_level = "info";
  int workers = 16;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"shoald: the shoal storage server"};
  app.add_option("--data-dir", options.data_dir, "directory for the server's own state")->capture_default_str();
  app.add_option("--listen", options.listen, "address[:port] to serve on (default port 24100)")->capture_default_str();
  app.add_option("--volume", options.volumes, "serve volume NAME from brick directory PATH (NAME=PATH; repeatable)");
  app.add_option("--log-file", options.log_file, "log to this file instead of stderr");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn or error")->capture_default_str();
  app.add_option("--workers", options.workers, "threads doing disk work")->capture_default_str()->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);

  shoal::SetUpLogging({.program = "shoald", .file = options.log_file, .level = options.log_level});
  ::umask(0);  // modes of new objects are exactly what the client asked for

  // Signals are taken by sigwait below, never delivered to a worker thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (::mkdir(options.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    fmt::print(stderr, "shoald: cannot create data directory {}: {}\n", options.data_dir, std::strerror(errno));
    return 1;
  }

  shoal::server::VolumeRegistry volumes;
  for (const auto& spec : options.volumes) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      fmt::print(stderr, "shoald: --volume wants NAME=PATH, got '{}'\n", spec);
      return 2;
    }
    shoal::Status added = volumes.Add(spec.substr(0, eq), spec.substr(eq + 1));
    if (!added.ok())
      fmt::print(stderr, "shoald: not serving volume {}: {}\n", spec.substr(0, eq), added.message());
  }

  auto where = shoal::ParseHostPort(options.listen);
  if (!where.ok()) {
    fmt::print(stderr, "shoald: bad --listen {}\n", where.status().message());
    return 2;
  }

  shoal::net::WorkerPool workers(options.workers);
  auto listener = shoal::net::Listener::Start(
      where->host, where->port, [&](std::shared_ptr<shoal::net::Connection> connection) {
        spdlog::debug("session.opened peer={}", connection->peer());
        return std::make_shared<shoal::server::Session>(std::move(connection), volumes, workers);
      });
  if (!listener.ok()) {
    fmt::print(stderr, "shoald: {}\n", listener.status().message());
    return 1;
  }
  where->port = (*listener)->port();
  spdlog::info("server.ready listen={}", where->ToString());
  fmt::print("shoald ready listen={}\n", where->ToString());
  std::fflush(stdout);

  // Sync the bricks' indexes now and then, so a machine crash loses little.
  std::atomic<bool> stopping = false;
  std::thread syncer([&] {
    while (!stopping) {
      for (int i = 0; i < 50 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      volumes.SyncAll();
    }
  });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("server.stopping signal={}", signal_number);
  stopping = true;
  syncer.join();
  workers.Join();     // requests under way finish and send their replies...
  listener->reset();  // ...then the connections close
  return 0;
}

// shoald: the shoal storage server. Serves the bricks of its volumes to clients over TCP.
//
// Prints "shoald ready listen=ADDR:PORT" on stdout once it accepts connections and its etcd member
// serves (scripts and tests wait for that line), and stops cleanly on SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/host_port.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "net/listener.h"
#include "net/worker_pool.h"
#include "server/admin.h"
#include "server/brick_host.h"
#include "server/pool.h"
#include "server/session.h"
#include "server/volume_admin.h"
#include "server/volume_registry.h"

namespace {

struct Options {
  std::string data_dir = "/var/lib/shoal";
  std::string listen = "0.0.0.0";
  std::vector<std::string> volumes;
  std::vector<std::string> etcd_endpoints;
  std::string log_file;
  std::string log_level = "info";
  int workers = 16;
  int push_ack_timeout_ms = 1000;
  bool witness = false;
};

// A TCP port on `host` that nothing listens on now (for the etcd member of a server on port 0).
shoal::Result<uint16_t> FreePort(const std::string& host) {
  using shoal::Code, shoal::Status;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    return Status(Code::kInvalidArgument, fmt::format("{} is not an IPv4 address", host));
  shoal::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socklen_t length = sizeof address;
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return shoal::ErrnoStatus(errno, "choosing a port for etcd");
  return ntohs(address.sin_port);
}

// The address other servers reach this one at: the listen address, or for a wildcard one the
// first IPv4 address of the host's name.
std::string ReachableHost(const std::string& listen_host) {
  if (listen_host != "0.0.0.0" && listen_host != "::" && !listen_host.empty()) return listen_host;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  addrinfo hints{.ai_flags = 0, .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_protocol = 0, .ai_addrlen = 0,
                 .ai_addr = nullptr, .ai_canonname = nullptr, .ai_next = nullptr};
  addrinfo* found = nullptr;
  std::string host = "127.0.0.1";
  if (::getaddrinfo(name, nullptr, &hints, &found) == 0 && found != nullptr) {
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(found->ai_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) host = text;
    ::freeaddrinfo(found);
  }
  return host;
}

// A server holds a descriptor for every file clients have open and caches more for recent nodes
// (storage/brick.h): it takes all the open files its hard limit allows, as etcd and nginx do.
void RaiseOpenFileLimit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  spdlog::info("shoald.open_files limit={}", limit.rlim_cur);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"shoald: the shoal storage server"};
  app.set_version_flag("--version", SHOAL_VERSION);
  app.add_option("--data-dir", options.data_dir, "directory for the server's own state")->capture_default_str();
  app.add_option("--listen", options.listen, "address[:port] to serve on (default port 24100)")->capture_default_str();
  app.add_option("--volume", options.volumes, "serve volume NAME from brick directory PATH (NAME=PATH; repeatable)");
  app.add_option("--etcd-endpoints", options.etcd_endpoints,
                 "use this etcd cluster (URL,...; http://HOST:PORT) instead of running a member; by default "
                 "shoald runs one, data in DATA_DIR/etcd, on the listen address with ports listen+1 (clients) "
                 "and listen+2 (peers), e.g. 24101 and 24102")
      ->delimiter(',');
  app.add_flag("--witness", options.witness,
               "an etcd member and nothing else: it holds no bricks, and breaks ties for replica 2 volumes "
               "(`shoal volume create NAME replica 2 witness THIS-SERVER ...`)");
  app.add_option("--log-file", options.log_file, "log to this file instead of stderr");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn or error")->capture_default_str();
  app.add_option("--workers", options.workers, "threads doing disk work")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--push-ack-timeout-ms", options.push_ack_timeout_ms,
                 "how long a change waits for another client to drop what it caches before that client is "
                 "disconnected; also the clients' lease on their caches")
      ->capture_default_str()
      ->check(CLI::Range(50, 60000));
  CLI11_PARSE(app, argc, argv);

  shoal::SetUpLogging({.program = "shoald", .file = options.log_file, .level = options.log_level});
  ::umask(0);  // modes of new objects are exactly what the client asked for
  RaiseOpenFileLimit();  // before any brick opens: their caches are sized from it

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
    shoal::Status added = volumes.AddStatic(spec.substr(0, eq), spec.substr(eq + 1));
    if (!added.ok())
      fmt::print(stderr, "shoald: not serving volume {}: {}\n", spec.substr(0, eq), added.message());
  }

  auto where = shoal::ParseHostPort(options.listen);
  if (!where.ok()) {
    fmt::print(stderr, "shoald: bad --listen {}\n", where.status().message());
    return 2;
  }

  std::vector<shoal::HostPort> etcd_endpoints;
  for (std::string url : options.etcd_endpoints) {
    if (url.starts_with("http://")) url.erase(0, 7);
    while (url.ends_with("/")) url.pop_back();
    auto endpoint = shoal::ParseHostPort(url, 2379);
    if (!endpoint.ok()) {
      fmt::print(stderr, "shoald: bad --etcd-endpoints entry {}: {}\n", url, endpoint.status().message());
      return 2;
    }
    etcd_endpoints.push_back(*endpoint);
  }

  // Admin sessions are answered from the start, with "not ready" until the pool has started.
  std::unique_ptr<shoal::server::Pool> pool;
  std::unique_ptr<shoal::server::BrickHost> brick_host;
  std::unique_ptr<shoal::server::VolumeAdmin> volume_admin;
  shoal::server::AdminServices admin;
  std::atomic<shoal::server::AdminServices*> serving_admin{nullptr};
  // What clients cache, and the invalidations changes wait for (outlives every session).
  shoal::server::CacheTracker cache_tracker({.ack_timeout_ms = options.push_ack_timeout_ms});
  std::jthread cache_expirer([&cache_tracker](std::stop_token stop) { cache_tracker.ExpireUntil(stop); });
  shoal::net::WorkerPool workers(options.workers);
  auto listener = shoal::net::Listener::Start(
      where->host, where->port, [&](std::shared_ptr<shoal::net::Connection> connection) {
        spdlog::debug("session.opened peer={}", connection->peer());
        return std::make_shared<shoal::server::Session>(std::move(connection), volumes, workers, serving_admin.load(),
                                                        &cache_tracker);
      });
  if (!listener.ok()) {
    fmt::print(stderr, "shoald: {}\n", listener.status().message());
    return 1;
  }
  const bool any_port = where->port == 0;
  where->port = (*listener)->port();

  shoal::server::PoolOptions pool_options{.address = {.host = ReachableHost(where->host), .port = where->port},
                                          .data_dir = options.data_dir,
                                          .etcd_endpoints = etcd_endpoints};
  if (etcd_endpoints.empty()) {
    pool_options.etcd_client = {.host = pool_options.address.host, .port = static_cast<uint16_t>(where->port + 1)};
    pool_options.etcd_peer = {.host = pool_options.address.host, .port = static_cast<uint16_t>(where->port + 2)};
    // On a random port (tests) the ports next to it may be taken: the member gets free ports of
    // its own, recorded so that a restart on the port shoald got keeps the member's addresses.
    const std::string recorded = options.data_dir + "/etcd-ports";
    unsigned listen_port = 0, client_port = 0, peer_port = 0;
    if (FILE* file = std::fopen(recorded.c_str(), "r")) {
      if (std::fscanf(file, "%u %u %u", &listen_port, &client_port, &peer_port) != 3) listen_port = 0;
      std::fclose(file);
    }
    if (!any_port && listen_port == where->port && client_port != 0 && peer_port != 0) {
      pool_options.etcd_client.port = static_cast<uint16_t>(client_port);
      pool_options.etcd_peer.port = static_cast<uint16_t>(peer_port);
    } else if (any_port) {
      auto free_client = FreePort(pool_options.address.host);
      auto free_peer = FreePort(pool_options.address.host);
      if (free_client.ok() && free_peer.ok() && *free_client != *free_peer) {
        pool_options.etcd_client.port = *free_client;
        pool_options.etcd_peer.port = *free_peer;
        if (FILE* file = std::fopen(recorded.c_str(), "w")) {
          fmt::print(file, "{} {} {}\n", where->port, *free_client, *free_peer);
          std::fclose(file);
        }
      }
    }
  }
  pool = std::make_unique<shoal::server::Pool>(std::move(pool_options));
  if (shoal::Status started = pool->Start(); !started.ok()) {
    fmt::print(stderr, "shoald: cannot start the etcd member: {}\n", started.message());
    return 1;
  }
  // The pool's volumes whose bricks are here are served before the server says it is ready.
  brick_host = std::make_unique<shoal::server::BrickHost>(
      shoal::server::BrickHostOptions{.server_name = pool->name(), .witness = options.witness}, volumes,
      [&pool] { return pool->Etcd(); });
  volume_admin = std::make_unique<shoal::server::VolumeAdmin>(
      shoal::server::VolumeAdminOptions{.witness = options.witness}, *pool, volumes, *brick_host);
  admin = {.pool = pool.get(), .volumes = volume_admin.get()};
  serving_admin = &admin;
  spdlog::info("server.ready listen={}", where->ToString());
  fmt::print("shoald ready listen={}\n", where->ToString());
  std::fflush(stdout);

  // Sync the bricks' indexes every 5 s, so a machine crash loses little; a stop wakes it at once.
  std::mutex stop_mutex;
  std::condition_variable stop_requested;
  bool stopping = false;  // guarded by stop_mutex
  std::thread syncer([&] {
    std::unique_lock lock(stop_mutex);
    while (!stop_requested.wait_for(lock, std::chrono::seconds(5), [&] { return stopping; })) {
      lock.unlock();
      volumes.SyncAll();
      pool->RefreshEndpoints();
      lock.lock();
    }
  });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("server.stopping signal={}", signal_number);
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stop_requested.notify_one();
  syncer.join();
  brick_host.reset();   // no more roles are made...
  volumes.StopRoles();  // ...and the primaries hand theirs over while etcd still answers
  workers.Join();     // requests under way finish and send their replies...
  listener->reset();  // ...then the connections close
  pool.reset();       // and the etcd member stops
  return 0;
}

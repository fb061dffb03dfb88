// A replicated volume on three real shoald (pool_fixture.h), and what its tests share: a client
// that writes and fsyncs one small file after another, and the checks of what it was told.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/convergence.h"
#include "tests/integration/pool_fixture.h"

namespace shoal::testing {

// A healed brick got its entries by copying, not by the same history: ext4 directory sizes differ.
inline const test::CompareOptions kHealed{.compare_directory_sizes = false};

class ReplicationTest : public ThreePoolServers {
 protected:
  void SetUp() override {
    ThreePoolServers::SetUp();
    Probe(1, 2);
    Probe(1, 3);
  }
  // Creates and starts `www` with one brick on each of `servers`.
  void CreateAndStart(std::vector<int> servers, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"volume", "create", "www", "replica", std::to_string(servers.size())};
    args.insert(args.end(), extra.begin(), extra.end());
    for (int i : servers) args.push_back(Name(i) + ":" + Brick(i));
    args.push_back("force");
    CommandResult created = Shoal(1, args);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    created_err_ = created.err;
    CommandResult started = Shoal(1, {"volume", "start", "www"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  std::string MountPoint(const std::string& name) {
    std::string path = dir_.path() + "/" + name;
    ::mkdir(path.c_str(), 0755);
    return path;
  }
  // `volume status www --json` through the first server of `via` that answers.
  nlohmann::json Status(std::vector<int> via = {1, 2, 3}) {
    for (int v : via) {
      CommandResult result = Shoal(v, {"volume", "status", "www", "--json"});
      if (result.exit_code == 0) return nlohmann::json::parse(result.out);
    }
    return nlohmann::json();
  }
  // Brick states by server number (1..3), e.g. {1: "primary", 2: "in-sync"}.
  std::map<int, std::string> States(std::vector<int> via = {1, 2, 3}) {
    std::map<int, std::string> states;
    nlohmann::json status = Status(via);
    for (const auto& brick : status["bricks"])
      for (int i = 1; i <= 3; ++i)
        if (brick["server"] == Name(i)) states[i] = brick["state"];
    return states;
  }
  // Waits (polling, bounded) until exactly one brick is primary; its server number, or 0.
  int WaitForPrimary(std::vector<int> via = {1, 2, 3}, int except = 0) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (const auto& [server, state] : States(via))
        if (state == "primary" && server != except) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  // Waits (polling, bounded: 60 s) until the brick of `server` is back in sync (healed).
  // The replica set's record must say so, not only the brick (one that was frozen believes it is
  // in sync until its next look at the record).
  bool WaitForInSync(int server) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      nlohmann::json status = Status();
      bool recorded = false;
      for (const auto& in_sync : status["replica_set"]["in_sync"]) recorded = recorded || in_sync == Name(server);
      for (const auto& brick : status["bricks"])
        if (recorded && brick["server"] == Name(server) && (brick["state"] == "in-sync" || brick["state"] == "primary"))
          return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // File reads each brick served so far, by server number (volume status, `reads`).
  std::map<int, uint64_t> Reads(std::vector<int> via = {1, 2, 3}) {
    std::map<int, uint64_t> reads;
    const nlohmann::json status = Status(via);
    for (const auto& brick : status["bricks"])
      for (int i = 1; i <= 3; ++i)
        if (brick["server"] == Name(i)) reads[i] = brick["reads"].get<uint64_t>();
    return reads;
  }
  std::vector<std::string> Bricks(std::vector<int> servers) {
    std::vector<std::string> paths;
    for (int i : servers) paths.push_back(Brick(i));
    return paths;
  }

  std::string created_err_;
};

// A client that creates, writes and fsyncs one small file after another, remembering which were
// acknowledged (close returned 0) and every error it saw.
class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_.load(); }
  // Waits until `more` further writes were acknowledged (bounded: 30 s).
  bool WaitFor(int more) {
    const int target = acknowledged() + more;
    for (int i = 0; i < 3000 && acknowledged() < target && !stopped_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return acknowledged() >= target;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  static std::string Content(int i) { return "write " + std::to_string(i) + std::string(100 + i % 900, 'x'); }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      const std::string path = dir_ + "/f" + std::to_string(i);
      const std::string content = Content(i);
      int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      bool ok = fd >= 0 && ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                ::fsync(fd) == 0;
      const int err = errno;
      if (fd >= 0 && ::close(fd) != 0) ok = false;
      if (ok) {
        acknowledged_ = i + 1;
      } else {
        std::lock_guard lock(mutex_);
        errors_.push_back(path + ": " + std::strerror(err));
        stopped_ = true;
        return;  // the files after an error would be a different test
      }
    }
  }
  const std::string dir_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};  // by an error
  std::atomic<int> acknowledged_{0};
  std::mutex mutex_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

// Every file the writer was told it wrote is there, whole.
inline void ExpectAcknowledgedWrites(const std::string& dir, int count) {
  for (int i = 0; i < count; ++i) ASSERT_EQ(ReadFile(dir + "/f" + std::to_string(i)), Writer::Content(i)) << "f" << i;
}

// The file's content read through the mount, its pages first dropped from the page cache: the read
// reaches a server (a brick chosen by reads spread over the bricks).
inline std::string ReadPastPageCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<open failed: " + std::string(std::strerror(errno)) + ">";
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  std::string content;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) content.append(buffer, static_cast<size_t>(n));
  if (n < 0) content = "<read failed: " + std::string(std::strerror(errno)) + ">";
  ::close(fd);
  return content;
}

}  // namespace shoal::testing

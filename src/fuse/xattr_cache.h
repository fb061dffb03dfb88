// XattrCache: short-lived answers to getxattr, kept by the client.
//
// `ls -l` asks every file for security.selinux (and, without kernel ACL caching,
// system.posix_acl_access); nearly always the answer is "no such attribute", and the kernel
// caches no xattrs. Answers are kept as long as the kernel keeps the node's attributes (the times
// of the answer that said so, at most the ttl given at construction); this mount's own
// setxattr/removexattr and another client's changes (pushed) drop the node's entries at once.
// Bounded: when full it forgets everything. Thread-safe.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace shoal::fuse {

class XattrCache {
 public:
  static constexpr size_t kEntriesMax = 1 << 16;
  static constexpr size_t kValueBytesMax = 4096;
  using Clock = std::chrono::steady_clock;

  struct Answer {
    int error = 0;      // 0, or the errno the server gave (ENODATA, ENOTSUP)
    std::string value;  // when error is 0
  };

  explicit XattrCache(double ttl_max_s) : ttl_(Duration(ttl_max_s)) {}

  // Learns from attributes the server sent whether the node has any xattr at all; the answer may
  // be kept for `ttl_s`.
  void NoteAttr(uint64_t ino, bool xattr_free, double ttl_s) {
    const Clock::duration ttl = std::min(ttl_, Duration(ttl_s));
    std::lock_guard lock(mutex_);
    if (xattr_free && ttl.count() > 0) {
      if (free_until_.size() >= kEntriesMax) free_until_.clear();
      free_until_[ino] = Clock::now() + ttl;
    } else {
      free_until_.erase(ino);
    }
  }

  std::optional<Answer> Find(uint64_t ino, const std::string& name) {
    if (ttl_.count() <= 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (auto free = free_until_.find(ino); free != free_until_.end() && free->second >= Clock::now())
      return Answer{.error = ENODATA};
    auto node = map_.find(ino);
    if (node == map_.end()) return std::nullopt;
    auto it = node->second.find(name);
    if (it == node->second.end() || it->second.expires < Clock::now()) return std::nullopt;
    return it->second.answer;
  }

  void Store(uint64_t ino, const std::string& name, Answer answer, double ttl_s) {
    const Clock::duration ttl = std::min(ttl_, Duration(ttl_s));
    if (ttl.count() <= 0 || answer.value.size() > kValueBytesMax) return;
    std::lock_guard lock(mutex_);
    if (++entries_ > kEntriesMax) {
      map_.clear();
      entries_ = 1;
    }
    map_[ino][name] = Entry{.answer = std::move(answer), .expires = Clock::now() + ttl};
  }

  void Forget(uint64_t ino) {
    std::lock_guard lock(mutex_);
    map_.erase(ino);
    free_until_.erase(ino);
  }

  void Clear() {
    std::lock_guard lock(mutex_);
    map_.clear();
    free_until_.clear();
    entries_ = 0;
  }

 private:
  static Clock::duration Duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  struct Entry {
    Answer answer;
    Clock::time_point expires;
  };
  const Clock::duration ttl_;
  std::mutex mutex_;
  size_t entries_ = 0;  // guarded by mutex_ (an upper bound: overwrites count too)
  std::unordered_map<uint64_t, std::unordered_map<std::string, Entry>> map_;  // guarded by mutex_
  std::unordered_map<uint64_t, Clock::time_point> free_until_;  // guarded by mutex_: no xattrs at all
};

}  // namespace shoal::fuse

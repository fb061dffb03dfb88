// KernelGrants: what this mount has let its kernel cache for long — names (found or not found) and
// nodes — so that all of it can be dropped when the cache can no longer be trusted: the lease
// lapsed, the connection was replaced, or the server asks. (The kernel offers no "drop every
// entry" call, and entries are invalidated by name.)
//
// Bounded: at most entries_max names and nodes_max nodes. Noting one more evicts the oldest, which
// the caller must then drop from the kernel; noting one again makes it the newest. Thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shoal::fuse {

class KernelGrants {
 public:
  struct Entry {
    uint64_t parent = 0;
    std::string name;
    bool operator==(const Entry&) const = default;
  };
  struct Node {
    uint64_t ino = 0;
    bool directory = false;  // its listing may be cached too
    bool operator==(const Node&) const = default;
  };
  struct All {
    std::vector<Entry> entries;
    std::vector<Node> nodes;
  };

  KernelGrants(size_t entries_max, size_t nodes_max) : entries_max_(entries_max), nodes_max_(nodes_max) {}
  KernelGrants(const KernelGrants&) = delete;
  KernelGrants& operator=(const KernelGrants&) = delete;

  // Returns the entry evicted to make room, if any.
  std::optional<Entry> NoteEntry(uint64_t parent, std::string_view name) {
    std::lock_guard lock(mutex_);
    return Note(entries_, entry_order_, KeyOf(parent, name), Entry{parent, std::string(name)}, entries_max_);
  }
  // Returns the node evicted to make room, if any.
  std::optional<Node> NoteNode(uint64_t ino, bool directory) {
    std::lock_guard lock(mutex_);
    return Note(nodes_, node_order_, ino, Node{ino, directory}, nodes_max_);
  }
  // The kernel has dropped it already (a push was carried out).
  void ForgetEntry(uint64_t parent, std::string_view name) {
    std::lock_guard lock(mutex_);
    Forget(entries_, entry_order_, KeyOf(parent, name));
  }
  void ForgetNode(uint64_t ino) {
    std::lock_guard lock(mutex_);
    Forget(nodes_, node_order_, ino);
  }
  // Everything noted, oldest first; the table is empty afterwards.
  All TakeAll() {
    std::lock_guard lock(mutex_);
    All all{.entries = {entry_order_.begin(), entry_order_.end()}, .nodes = {node_order_.begin(), node_order_.end()}};
    entries_.clear();
    entry_order_.clear();
    nodes_.clear();
    node_order_.clear();
    return all;
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size() + nodes_.size();
  }

 private:
  static std::string KeyOf(uint64_t parent, std::string_view name) {
    std::string key(sizeof parent, '\0');
    std::memcpy(key.data(), &parent, sizeof parent);
    key.append(name);
    return key;
  }
  static std::string KeyOfValue(const Entry& entry) { return KeyOf(entry.parent, entry.name); }
  static uint64_t KeyOfValue(const Node& node) { return node.ino; }
  template <typename Key, typename Value>
  static std::optional<Value> Note(std::unordered_map<Key, typename std::list<Value>::iterator>& map,
                                   std::list<Value>& order, Key key, Value value, size_t max) {
    if (auto it = map.find(key); it != map.end()) {
      order.splice(order.end(), order, it->second);  // the newest again
      *it->second = std::move(value);
      return std::nullopt;
    }
    std::optional<Value> evicted;
    if (max > 0 && map.size() >= max) {
      map.erase(KeyOfValue(order.front()));
      evicted = std::move(order.front());
      order.pop_front();
    }
    order.push_back(std::move(value));
    map.emplace(std::move(key), std::prev(order.end()));
    return evicted;
  }
  template <typename Key, typename Value>
  static void Forget(std::unordered_map<Key, typename std::list<Value>::iterator>& map, std::list<Value>& order,
                     const Key& key) {
    auto it = map.find(key);
    if (it == map.end()) return;
    order.erase(it->second);
    map.erase(it);
  }

  const size_t entries_max_, nodes_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::list<Entry>::iterator> entries_;  // guarded by mutex_
  std::list<Entry> entry_order_;                                        // guarded by mutex_: oldest first
  std::unordered_map<uint64_t, std::list<Node>::iterator> nodes_;       // guarded by mutex_
  std::list<Node> node_order_;                                          // guarded by mutex_
};

}  // namespace shoal::fuse

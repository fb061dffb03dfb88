// NodeIndex: the brick's map node id -> kernel file handle, kept in LMDB under .shoal/index.
//
// The index is a cache of what the tree itself records (every object carries its node id in the
// trusted.shoal.id xattr): an entry that is missing is re-added by the next lookup of that name,
// so the index may be thrown away and rebuilt at any time. That is why commits do not fsync
// (MDB_NOSYNC): after a machine crash the brick discards the index instead of trusting it
// (Brick::Open). Thread-safe; every call is one short LMDB transaction.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::storage {

class NodeIndex {
 public:
  // Opens (creating if needed) the index in directory `dir`.
  static Result<std::unique_ptr<NodeIndex>> Open(const std::string& dir);
  ~NodeIndex();
  NodeIndex(const NodeIndex&) = delete;
  NodeIndex& operator=(const NodeIndex&) = delete;

  // The stored file handle of `node`, or nullopt if the index does not know it.
  Result<std::optional<std::string>> Get(uint64_t node);
  Status Put(uint64_t node, const std::string& handle);
  Status Delete(uint64_t node);
  // Every node the index knows, in id order (a snapshot: changes made meanwhile may be missed).
  Result<std::vector<uint64_t>> Nodes();
  // Writes everything committed so far to stable storage.
  Status Sync();

 private:
  explicit NodeIndex(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  MDB_env* env_;
  MDB_dbi dbi_;
};

}  // namespace shoal::storage

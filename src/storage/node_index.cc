#include "storage/node_index.h"

#include <cstring>

#include <fmt/format.h>

namespace shoal::storage {
namespace {

constexpr size_t kMapBytes = size_t{64} << 30;  // address space only; the file grows as needed

Status LmdbStatus(int rc, std::string_view what) {
  if (rc == MDB_MAP_FULL) return Status(Code::kNoSpace, fmt::format("{}: index map full", what));
  if (rc > 0) return ErrnoStatus(rc, what);
  return Status(Code::kIoError, fmt::format("{}: {}", what, mdb_strerror(rc)));
}

MDB_val KeyOf(const uint64_t& node) { return MDB_val{sizeof node, const_cast<uint64_t*>(&node)}; }

}  // namespace

Result<std::unique_ptr<NodeIndex>> NodeIndex::Open(const std::string& dir) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbStatus(rc, "mdb_env_create");
  mdb_env_set_mapsize(env, kMapBytes);
  rc = mdb_env_open(env, dir.c_str(), MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD, 0600);
  if (rc != 0) {
    mdb_env_close(env);
    return LmdbStatus(rc, fmt::format("opening index {}", dir));
  }
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY, &dbi);
  if (rc == 0) rc = mdb_txn_commit(txn);
  if (rc != 0) {
    mdb_env_close(env);
    return LmdbStatus(rc, "opening index table");
  }
  return std::unique_ptr<NodeIndex>(new NodeIndex(env, dbi));
}

NodeIndex::~NodeIndex() {
  mdb_env_sync(env_, 1);
  mdb_env_close(env_);
}

Result<std::optional<std::string>> NodeIndex::Get(uint64_t node) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return LmdbStatus(rc, "index read");
  MDB_val key = KeyOf(node), value;
  rc = mdb_get(txn, dbi_, &key, &value);
  std::optional<std::string> found;
  if (rc == 0) found.emplace(static_cast<const char*>(value.mv_data), value.mv_size);
  mdb_txn_abort(txn);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "index read");
  return found;
}

Status NodeIndex::Put(uint64_t node, const std::string& handle) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbStatus(rc, "index write");
  MDB_val key = KeyOf(node), value{handle.size(), const_cast<char*>(handle.data())};
  rc = mdb_put(txn, dbi_, &key, &value, 0);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, "index write");
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "index commit");
}

Status NodeIndex::Delete(uint64_t node) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbStatus(rc, "index delete");
  MDB_val key = KeyOf(node);
  rc = mdb_del(txn, dbi_, &key, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, "index delete");
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "index commit");
}

Status NodeIndex::Sync() {
  int rc = mdb_env_sync(env_, 1);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "index sync");
}

Result<std::vector<uint64_t>> NodeIndex::Nodes() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return LmdbStatus(rc, "index read");
  MDB_cursor* cursor = nullptr;
  rc = mdb_cursor_open(txn, dbi_, &cursor);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, "index cursor");
  }
  std::vector<uint64_t> nodes;
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    uint64_t node = 0;
    if (key.mv_size == sizeof node) {
      std::memcpy(&node, key.mv_data, sizeof node);
      nodes.push_back(node);
    }
  }
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  if (rc != MDB_NOTFOUND) return LmdbStatus(rc, "index read");
  return nodes;
}

}  // namespace shoal::storage

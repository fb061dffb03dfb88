// EtcdClient: the coordination store's client, speaking etcd 3.4's v3 JSON gateway over HTTP.
//
// The JSON gateway rather than gRPC because it needs nothing beyond Boost.Beast and nlohmann-json,
// both already dependencies, while etcd's gRPC API would bring gRPC and its code generator.
// Every call is one blocking HTTP POST with `request_timeout_ms`; calls may be made from any
// thread at once (the shared state is which endpoint answered last, and a few idle kept-alive
// connections). Reads and renewals go on kept-alive connections, changes each on a connection of
// their own (net/http_client.h says why). The JSON encoding is in etcd_wire.h.
//
// Endpoints are the client URLs of etcd members, tried in turn starting with the last one that
// answered. Whether the next is tried depends on what the call can tolerate:
//   reads (Range, a Txn of ranges only, MemberList, Status) and lease renewals (KeepAlive:
//     renewing twice does no harm): on any failure to get an answer, and on etcd's "unavailable"
//     (a member without a leader);
//   changes (Put, Delete, Txn, other lease calls, membership): only when the request was
//     certainly not sent (connection refused). A change that timed out may have been applied; it fails with
//     kTimedOut or kIoError and the caller decides (a compare-and-swap re-reads the record).
// A change etcd dropped without committing it ("raft proposal dropped", during a leadership
// transfer) is sent again, for up to 2 s. etcd's own refusals map to status codes: its NotFound to kNotFound, InvalidArgument to
// kInvalidArgument, Unavailable to kUnavailable, AlreadyExists to kExists, DeadlineExceeded to
// kTimedOut, ResourceExhausted (database full) to kNoSpace, anything else to kIoError; the
// message names the endpoint and carries etcd's words.
//
// Keys and values are bytes (std::string), base64 on the wire. Revisions, versions and lease ids
// are int64 in etcd; member ids are uint64.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "net/http_client.h"

namespace shoal::coord {

struct EtcdOptions {
  std::vector<HostPort> endpoints{};  // client addresses of etcd members
  int request_timeout_ms = 2000;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;  // the store's revision when this key was last changed
  int64_t version = 0;       // changes since creation; 0 would mean "absent"
  int64_t lease = 0;         // 0: none
};

// Requests, usable alone or as the operations of a transaction. `prefix` makes the key a prefix:
// every key that starts with it (an empty prefix means every key).
struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;  // the key is deleted when this lease ends; 0: none
};
struct RangeRequest {
  std::string key;
  bool prefix = false;
  int64_t limit = 0;  // at most this many keys, in key order; 0: no limit
  // Answered from the member's own copy without asking the leader: possibly stale, but it works
  // without a quorum (what a read-only command says while the pool has lost it).
  bool serializable = false;
};
struct DeleteRequest {
  std::string key;
  bool prefix = false;
};

// Every answer carries the store's revision at the time it was served.
struct PutResponse {
  int64_t revision = 0;
};
struct RangeResponse {
  int64_t revision = 0;
  std::vector<KeyValue> kvs{};
  int64_t count = 0;  // keys in the range, even beyond `limit`
  bool more = false;  // `limit` cut the answer short
};
struct DeleteResponse {
  int64_t revision = 0;
  int64_t deleted = 0;
};

// One condition of a transaction: `target` of `key` compared with `number` (or `value` for
// kValue). A key that does not exist has version, create and mod revision 0.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kModRevision;
  Op op = Op::kEqual;
  int64_t number = 0;
  std::string value{};
};

using TxnOp = std::variant<PutRequest, RangeRequest, DeleteRequest>;
using TxnOpResponse = std::variant<PutResponse, RangeResponse, DeleteResponse>;

// If every compare holds, `success` runs, else `failure`; atomically, as one revision.
struct TxnRequest {
  std::vector<Compare> compare{};
  std::vector<TxnOp> success{};
  std::vector<TxnOp> failure{};
};
struct TxnResponse {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<TxnOpResponse> responses{};  // one per operation of the branch that ran
};

struct Lease {
  int64_t id = 0;
  int64_t ttl_s = 0;  // granted (or, after a keep-alive, remaining) time to live
};

struct Member {
  uint64_t id = 0;
  std::string name;  // empty until an added member has started
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;  // empty until started
  bool learner = false;
};

struct MemberAddResponse {
  Member added;
  std::vector<Member> members;  // the whole cluster, the added one included
};

struct EtcdStatus {
  std::string version;  // etcd's, "3.4.23"
  uint64_t member_id = 0;  // of the member that answered
  uint64_t leader = 0;     // 0: no leader
  int64_t db_size_bytes = 0;
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
};

class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions options);
  ~EtcdClient();
  const std::vector<HostPort>& endpoints() const { return options_.endpoints; }
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  Result<PutResponse> Put(const PutRequest& request);
  Result<RangeResponse> Range(const RangeRequest& request);
  // One key; nullopt if absent.
  Result<std::optional<KeyValue>> Get(const std::string& key);
  Result<DeleteResponse> Delete(const DeleteRequest& request);
  Result<TxnResponse> Txn(const TxnRequest& request);

  Result<Lease> GrantLease(int64_t ttl_s);
  // Renews the lease to its full TTL; kNotFound if it has already expired or been revoked.
  // `timeout_ms` (0: request_timeout_ms) bounds each endpoint's try: a renewal must not wait on a
  // member cut off from the network for longer than the lease lasts.
  Result<Lease> KeepAlive(int64_t lease_id, int timeout_ms = 0);
  // Ends the lease and deletes its keys; kNotFound if it had already ended.
  Status RevokeLease(int64_t lease_id);

  Result<std::vector<Member>> MemberList();
  // Adds a voting member that will join from `peer_urls`; it must then be started with the
  // returned members as its initial cluster, state "existing". etcd refuses the addition
  // ("unhealthy cluster") until every member has been connected for 5 s; that refusal is retried
  // for up to `healthy_wait_ms`.
  Result<MemberAddResponse> AddMember(const std::vector<std::string>& peer_urls, int healthy_wait_ms = 10000);
  // Removes a member; etcd refuses this too ("unhealthy cluster") within 5 s of a member joining,
  // and that refusal is retried for up to `healthy_wait_ms`.
  Status RemoveMember(uint64_t member_id, int healthy_wait_ms = 10000);
  // The status of the member that answers (not the cluster's): the first endpoint that does.
  Result<EtcdStatus> MemberStatus();
  // Hands the cluster's leadership to member `target`; only the leader can (send it there).
  Status MoveLeader(uint64_t target);

 private:
  struct Answer;
  // POSTs `body` to `path`, trying endpoints as described at the top; the parsed JSON answer.
  // `retry_safe`: may go to the next endpoint after any failure (reads, renewals).
  // `timeout_ms` (0: request_timeout_ms) for each endpoint's try.
  Result<Answer> Call(const char* path, const std::string& body, bool retry_safe, int timeout_ms = 0);

  // HttpPost on an idle kept-alive connection to the request's address, or a new one; kept
  // afterwards if it is still open and there is room.
  Result<net::HttpResponse> PostKept(const net::HttpRequest& request);

  // Idle connections kept: one per thread that reads at once (role threads, the pool's poll).
  static constexpr size_t kKeptMax = 8;

  const EtcdOptions options_;
  std::atomic<size_t> preferred_{0};  // index into options_.endpoints of the last that answered
  std::mutex kept_mutex_;
  std::vector<std::unique_ptr<net::HttpConnection>> kept_;  // idle; guarded by kept_mutex_
};

}  // namespace shoal::coord

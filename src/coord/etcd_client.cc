#include "coord/etcd_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "coord/etcd_wire.h"
#include "net/http_client.h"

namespace shoal::coord {

using wire::Json;

struct EtcdClient::Answer {
  Json json;
  std::string where;  // "127.0.0.1:2379/v3/kv/put", for messages
};

namespace {

// A gRPC status code, as etcd reports its refusals, as ours.
Code CodeFromGrpc(int grpc_code) {
  switch (grpc_code) {
    case 3: return Code::kInvalidArgument;  // INVALID_ARGUMENT
    case 4: return Code::kTimedOut;         // DEADLINE_EXCEEDED
    case 5: return Code::kNotFound;         // NOT_FOUND
    case 6: return Code::kExists;           // ALREADY_EXISTS
    case 8: return Code::kNoSpace;          // RESOURCE_EXHAUSTED
    case 14: return Code::kUnavailable;     // UNAVAILABLE
    default: return Code::kIoError;
  }
}

// etcd's refusal of a call, a gRPC status in the JSON body of a non-200 answer, as our status.
Status EtcdError(const net::HttpResponse& response, const std::string& where) {
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_number_integer()) {
    return Status(Code::kProtocolError,
                  fmt::format("{}: HTTP {}: {}", where, response.status, response.body.substr(0, 200)));
  }
  std::string message = body.value("message", body.value("error", std::string("no message")));
  return Status(CodeFromGrpc(body["code"].get<int>()), fmt::format("{}: {}", where, message));
}

// etcd's ErrProposalDropped: the leader dropped the proposal without committing it (a leadership
// transfer, such as the one a new primary asks for, was under way), so sending it again is safe.
// (etcd passes raft's error through as gRPC's UNKNOWN: the words are all there is to go by.)
bool ProposalDropped(const Status& refused) {
  return refused.message().find("raft proposal dropped") != std::string::npos;
}
// How often, and how far apart, a dropped proposal is sent again: a transfer takes well under 1 s.
constexpr int kDroppedRetries = 20;
constexpr auto kDroppedPause = std::chrono::milliseconds(100);

// Runs a decoder over an answer; a malformed answer is kProtocolError, not an exception.
template <typename Decode>
auto Decoded(const Json& json, const std::string& where, Decode decode) -> Result<decltype(decode(json))> {
  try {
    return decode(json);
  } catch (const std::exception& error) {
    return Status(Code::kProtocolError, fmt::format("{}: unexpected answer: {}", where, error.what()));
  }
}

}  // namespace

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {}

EtcdClient::~EtcdClient() = default;

Result<net::HttpResponse> EtcdClient::PostKept(const net::HttpRequest& request) {
  std::unique_ptr<net::HttpConnection> connection;
  {
    std::lock_guard lock(kept_mutex_);
    auto it = std::find_if(kept_.begin(), kept_.end(), [&](const auto& kept) { return kept->address() == request.address; });
    if (it != kept_.end()) {
      connection = std::move(*it);
      kept_.erase(it);
    }
  }
  if (!connection) connection = std::make_unique<net::HttpConnection>(request.address);
  auto response = connection->Post(request);
  if (connection->open()) {
    std::lock_guard lock(kept_mutex_);
    if (kept_.size() < kKeptMax) kept_.push_back(std::move(connection));
  }
  return response;
}

Result<EtcdClient::Answer> EtcdClient::Call(const char* path, const std::string& body, bool retry_safe,
                                            int timeout_ms) {
  const size_t count = options_.endpoints.size();
  if (count == 0) return Status(Code::kInvalidArgument, fmt::format("{}: no etcd endpoints configured", path));
  const size_t first = preferred_.load();
  std::string failures;
  for (size_t attempt = 0; attempt < count; ++attempt) {
    const size_t index = (first + attempt) % count;
    net::HttpRequest request{.address = options_.endpoints[index],
                             .path = path,
                             .body = body,
                             .timeout_ms = timeout_ms > 0 ? timeout_ms : options_.request_timeout_ms};
    const std::string where = request.address.ToString() + path;
    // Reads and renewals on a kept-alive connection: they may be sent twice (http_client.h).
    auto post = [&] { return retry_safe ? PostKept(request) : net::HttpPost(request); };
    auto response = post();
    // The same member again: it answers, it only had no leader to commit this just then.
    for (int dropped = 0; response.ok() && response->status != 200 && dropped < kDroppedRetries &&
                          ProposalDropped(EtcdError(*response, where));
         ++dropped) {
      std::this_thread::sleep_for(kDroppedPause);
      response = post();
    }
    if (!response.ok()) {
      // A change may only go elsewhere if it certainly was not sent here.
      if (!retry_safe && response.status().code() != Code::kUnavailable) return response.status();
      failures += (failures.empty() ? "" : "; ") + response.status().message();
      continue;
    }
    if (response->status != 200) {
      Status refused = EtcdError(*response, where);
      if (retry_safe && refused.code() == Code::kUnavailable) {
        failures += (failures.empty() ? "" : "; ") + refused.message();
        continue;
      }
      preferred_.store(index);
      return refused;
    }
    Json json = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
      return Status(Code::kProtocolError, fmt::format("{}: answer is not a JSON object: {}", where,
                                                      response->body.substr(0, 200)));
    }
    preferred_.store(index);
    return Answer{.json = std::move(json), .where = where};
  }
  return Status(Code::kUnavailable, fmt::format("no etcd member answered: {}", failures));
}

Result<PutResponse> EtcdClient::Put(const PutRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/kv/put", wire::ToJson(request).dump(), false));
  return Decoded(answer.json, answer.where, wire::PutFromJson);
}

Result<RangeResponse> EtcdClient::Range(const RangeRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/kv/range", wire::ToJson(request).dump(), true));
  return Decoded(answer.json, answer.where, wire::RangeFromJson);
}

Result<std::optional<KeyValue>> EtcdClient::Get(const std::string& key) {
  SHOAL_ASSIGN_OR_RETURN(RangeResponse range, Range({.key = key}));
  if (range.kvs.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(range.kvs.front()));
}

Result<DeleteResponse> EtcdClient::Delete(const DeleteRequest& request) {
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/kv/deleterange", wire::ToJson(request).dump(), false));
  return Decoded(answer.json, answer.where, wire::DeleteFromJson);
}

Result<TxnResponse> EtcdClient::Txn(const TxnRequest& request) {
  auto reads = [](const std::vector<TxnOp>& ops) {
    return std::all_of(ops.begin(), ops.end(), [](const TxnOp& op) { return std::holds_alternative<RangeRequest>(op); });
  };
  const bool reads_only = reads(request.success) && reads(request.failure);  // may be sent twice
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/kv/txn", wire::ToJson(request).dump(), reads_only));
  return Decoded(answer.json, answer.where, wire::TxnFromJson);
}

Result<Lease> EtcdClient::GrantLease(int64_t ttl_s) {
  Json body = {{"TTL", std::to_string(ttl_s)}};
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/lease/grant", body.dump(), false));
  return Decoded(answer.json, answer.where, wire::LeaseFromJson);
}

Result<Lease> EtcdClient::KeepAlive(int64_t lease_id, int timeout_ms) {
  Json body = {{"ID", std::to_string(lease_id)}};
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/lease/keepalive", body.dump(), /*retry_safe=*/true, timeout_ms));
  // A stream of one message, HTTP 200 either way: {"result": {...}} or {"error": {"grpc_code": ...}}.
  if (auto error = answer.json.find("error"); error != answer.json.end()) {
    int grpc_code = error->is_object() ? error->value("grpc_code", -1) : -1;
    std::string message = error->is_object() ? error->value("message", error->dump()) : error->dump();
    return Status(CodeFromGrpc(grpc_code), fmt::format("{}: {}", answer.where, message));
  }
  SHOAL_ASSIGN_OR_RETURN(Lease lease, Decoded(answer.json, answer.where, [](const Json& json) {
                           return wire::LeaseFromJson(json.at("result"));
                         }));
  if (lease.ttl_s <= 0)
    return Status(Code::kNotFound, fmt::format("{}: lease {} has expired or was revoked", answer.where, lease_id));
  return lease;
}

Status EtcdClient::RevokeLease(int64_t lease_id) {
  Json body = {{"ID", std::to_string(lease_id)}};
  return Call("/v3/lease/revoke", body.dump(), false).status();
}

Result<std::vector<Member>> EtcdClient::MemberList() {
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/cluster/member/list", "{}", true));
  return Decoded(answer.json, answer.where, wire::MembersFromJson);
}

Result<MemberAddResponse> EtcdClient::AddMember(const std::vector<std::string>& peer_urls, int healthy_wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(healthy_wait_ms);
  const std::string body = Json{{"peerURLs", peer_urls}}.dump();
  for (;;) {
    auto answer = Call("/v3/cluster/member/add", body, false);
    if (answer.ok()) {
      return Decoded(answer->json, answer->where, [](const Json& json) {
        return MemberAddResponse{.added = wire::MemberFromJson(json.at("member")),
                                 .members = wire::MembersFromJson(json)};
      });
    }
    // etcd's strict reconfiguration check: every member must have been connected for 5 s.
    bool unhealthy = answer.status().code() == Code::kUnavailable &&
                     answer.status().message().ends_with("etcdserver: unhealthy cluster");
    if (!unhealthy || std::chrono::steady_clock::now() >= deadline) return answer.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status EtcdClient::RemoveMember(uint64_t member_id, int healthy_wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(healthy_wait_ms);
  const std::string body = Json{{"ID", std::to_string(member_id)}}.dump();
  for (;;) {
    Status removed = Call("/v3/cluster/member/remove", body, false).status();
    // The same strict reconfiguration check as for AddMember.
    bool unhealthy = removed.code() == Code::kUnavailable && removed.message().ends_with("etcdserver: unhealthy cluster");
    if (!unhealthy || std::chrono::steady_clock::now() >= deadline) return removed;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status EtcdClient::MoveLeader(uint64_t target) {
  return Call("/v3/maintenance/transfer-leadership", fmt::format("{{\"targetID\":\"{}\"}}", target), false).status();
}

Result<EtcdStatus> EtcdClient::MemberStatus() {
  SHOAL_ASSIGN_OR_RETURN(Answer answer, Call("/v3/maintenance/status", "{}", true));
  return Decoded(answer.json, answer.where, wire::StatusFromJson);
}

}  // namespace shoal::coord

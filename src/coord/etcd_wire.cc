#include "coord/etcd_wire.h"

#include <charconv>

#include <fmt/format.h>

#include "coord/base64.h"

namespace shoal::coord::wire {
namespace {

// Keys that select a range: `key` alone, or [key, range_end) for a prefix.
void AddRange(Json& json, const std::string& key, bool prefix) {
  if (prefix && key.empty()) {
    // etcd refuses an empty key; "\0" to "\0" means every key.
    json["key"] = Base64Encode(std::string(1, '\0'));
    json["range_end"] = Base64Encode(std::string(1, '\0'));
    return;
  }
  json["key"] = Base64Encode(key);
  if (prefix) json["range_end"] = Base64Encode(PrefixEnd(key));
}

std::string BytesField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return {};
  auto bytes = Base64Decode(it->get<std::string>());
  if (!bytes.ok()) throw WireError(fmt::format("field {}: {}", name, bytes.status().message()));
  return std::move(bytes).value();
}

template <typename T>
T NumberField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<T>();
  const std::string& text = it->get_ref<const std::string&>();
  T value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw WireError(fmt::format("field {}: '{}' is not a number", name, text));
  return value;
}

const Json& Object(const Json& json, const char* name) {
  static const Json kEmpty = Json::object();
  auto it = json.find(name);
  return it == json.end() ? kEmpty : *it;
}

int64_t HeaderRevision(const Json& json) { return Int64Field(Object(json, "header"), "revision"); }

std::vector<std::string> Strings(const Json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end()) return {};
  return it->get<std::vector<std::string>>();
}

}  // namespace

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<uint8_t>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Json ToJson(const PutRequest& request) {
  Json json = {{"key", Base64Encode(request.key)}, {"value", Base64Encode(request.value)}};
  if (request.lease != 0) json["lease"] = std::to_string(request.lease);
  return json;
}

Json ToJson(const RangeRequest& request) {
  Json json = Json::object();
  AddRange(json, request.key, request.prefix);
  if (request.limit != 0) json["limit"] = std::to_string(request.limit);
  if (request.serializable) json["serializable"] = true;
  return json;
}

Json ToJson(const DeleteRequest& request) {
  Json json = Json::object();
  AddRange(json, request.key, request.prefix);
  return json;
}

Json ToJson(const Compare& compare) {
  static constexpr const char* kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  static constexpr const char* kFields[] = {"version", "create_revision", "mod_revision", "value", "lease"};
  static constexpr const char* kOps[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
  const auto target = static_cast<size_t>(compare.target);
  Json json = {{"key", Base64Encode(compare.key)},
               {"target", kTargets[target]},
               {"result", kOps[static_cast<size_t>(compare.op)]}};
  json[kFields[target]] =
      compare.target == Compare::Target::kValue ? Base64Encode(compare.value) : std::to_string(compare.number);
  return json;
}

Json ToJson(const TxnRequest& request) {
  auto ops = [](const std::vector<TxnOp>& list) {
    Json array = Json::array();
    for (const TxnOp& op : list) {
      if (auto* put = std::get_if<PutRequest>(&op)) array.push_back({{"request_put", ToJson(*put)}});
      if (auto* range = std::get_if<RangeRequest>(&op)) array.push_back({{"request_range", ToJson(*range)}});
      if (auto* del = std::get_if<DeleteRequest>(&op)) array.push_back({{"request_delete_range", ToJson(*del)}});
    }
    return array;
  };
  Json compare = Json::array();
  for (const Compare& c : request.compare) compare.push_back(ToJson(c));
  return {{"compare", compare}, {"success", ops(request.success)}, {"failure", ops(request.failure)}};
}

int64_t Int64Field(const Json& object, const char* name) { return NumberField<int64_t>(object, name); }
uint64_t Uint64Field(const Json& object, const char* name) { return NumberField<uint64_t>(object, name); }

KeyValue KeyValueFromJson(const Json& json) {
  return KeyValue{.key = BytesField(json, "key"),
                  .value = BytesField(json, "value"),
                  .create_revision = Int64Field(json, "create_revision"),
                  .mod_revision = Int64Field(json, "mod_revision"),
                  .version = Int64Field(json, "version"),
                  .lease = Int64Field(json, "lease")};
}

PutResponse PutFromJson(const Json& json) { return PutResponse{.revision = HeaderRevision(json)}; }

RangeResponse RangeFromJson(const Json& json) {
  RangeResponse response{.revision = HeaderRevision(json), .count = Int64Field(json, "count")};
  if (auto it = json.find("kvs"); it != json.end())
    for (const Json& kv : *it) response.kvs.push_back(KeyValueFromJson(kv));
  response.more = json.value("more", false);
  return response;
}

DeleteResponse DeleteFromJson(const Json& json) {
  return DeleteResponse{.revision = HeaderRevision(json), .deleted = Int64Field(json, "deleted")};
}

TxnResponse TxnFromJson(const Json& json) {
  TxnResponse response{.succeeded = json.value("succeeded", false), .revision = HeaderRevision(json)};
  if (auto it = json.find("responses"); it != json.end()) {
    for (const Json& op : *it) {
      if (op.contains("response_put")) {
        response.responses.push_back(PutFromJson(op["response_put"]));
      } else if (op.contains("response_range")) {
        response.responses.push_back(RangeFromJson(op["response_range"]));
      } else if (op.contains("response_delete_range")) {
        response.responses.push_back(DeleteFromJson(op["response_delete_range"]));
      } else {
        throw WireError(fmt::format("unknown transaction response {}", op.dump()));
      }
    }
  }
  // An operation's own header carries only the revision, and only if it is not 0: the
  // transaction's revision is the one that counts.
  for (TxnOpResponse& op : response.responses) std::visit([&](auto& r) { r.revision = response.revision; }, op);
  return response;
}

Lease LeaseFromJson(const Json& json) {
  if (auto error = json.value("error", std::string()); !error.empty()) throw WireError(error);
  return Lease{.id = Int64Field(json, "ID"), .ttl_s = Int64Field(json, "TTL")};
}

Member MemberFromJson(const Json& json) {
  return Member{.id = Uint64Field(json, "ID"),
                .name = json.value("name", std::string()),
                .peer_urls = Strings(json, "peerURLs"),
                .client_urls = Strings(json, "clientURLs"),
                .learner = json.value("isLearner", false)};
}

std::vector<Member> MembersFromJson(const Json& json) {
  std::vector<Member> members;
  if (auto it = json.find("members"); it != json.end())
    for (const Json& member : *it) members.push_back(MemberFromJson(member));
  return members;
}

EtcdStatus StatusFromJson(const Json& json) {
  return EtcdStatus{.version = json.value("version", std::string()),
                    .member_id = Uint64Field(Object(json, "header"), "member_id"),
                    .leader = Uint64Field(json, "leader"),
                    .db_size_bytes = Int64Field(json, "dbSize"),
                    .raft_index = Uint64Field(json, "raftIndex"),
                    .raft_term = Uint64Field(json, "raftTerm")};
}

}  // namespace shoal::coord::wire

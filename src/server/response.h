// Building a response from a handler's Result or Status: the error, or what `fill` writes.
#pragma once

#include <utility>

#include "common/status.h"
#include "proto/messages.h"

namespace shoal::server {

template <typename T, typename Fill>
proto::Response From(Result<T> result, Fill fill) {
  if (!result.ok()) return proto::ErrorResponse(result.status());
  proto::Response response;
  fill(response, *result);
  return response;
}

template <typename Fill>
proto::Response From(Status status, Fill fill) {
  if (!status.ok()) return proto::ErrorResponse(status);
  proto::Response response;
  fill(response);
  return response;
}

}  // namespace shoal::server

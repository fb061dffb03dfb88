// Base64 (RFC 4648, standard alphabet, with padding): how etcd's JSON gateway carries keys and values,
// which are bytes, not text.
//
// Hand-written rather than taken from a library: Boost's copy is in a detail namespace, OpenSSL's
// EVP_DecodeBlock pads its output with zero bytes that the caller must trim by counting '=', and
// the whole codec is forty lines. Decoding is strict (the input comes from the network): a wrong
// length, a character outside the alphabet or misplaced padding is an error, never skipped.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal::coord {

std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace shoal::coord

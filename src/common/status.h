// Status and Result<T>: how every layer of shoal reports an error.
//
// All codes live in one table (kStatusTable in status.cc) with a stable wire number and the errno
// that the FUSE edge returns for it. errno is turned into a Status only at the storage edge
// (StatusFromErrno) and back only at the FUSE edge (ErrnoFromCode); nothing in between looks at
// errno. Wire numbers never change once shipped; add new codes at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace shoal {

// X(Name, wire number, errno)
#define SHOAL_STATUS_CODES(X)            \
  X(kOk, 0, 0)                           \
  X(kNotFound, 1, ENOENT)                \
  X(kExists, 2, EEXIST)                  \
  X(kNotDirectory, 3, ENOTDIR)           \
  X(kIsDirectory, 4, EISDIR)             \
  X(kNotEmpty, 5, ENOTEMPTY)             \
  X(kPermissionDenied, 6, EACCES)        \
  X(kNotPermitted, 7, EPERM)             \
  X(kInvalidArgument, 8, EINVAL)         \
  X(kNameTooLong, 9, ENAMETOOLONG)       \
  X(kNoSpace, 10, ENOSPC)                \
  X(kQuotaExceeded, 11, EDQUOT)          \
  X(kReadOnly, 12, EROFS)                \
  X(kIoError, 13, EIO)                   \
  X(kStale, 14, ESTALE)                  \
  X(kBadHandle, 15, EBADF)               \
  X(kWouldBlock, 16, EAGAIN)             \
  X(kNoData, 17, ENODATA)                \
  X(kRange, 18, ERANGE)                  \
  X(kTooBig, 19, E2BIG)                  \
  X(kFileTooBig, 20, EFBIG)              \
  X(kTooManyLinks, 21, EMLINK)           \
  X(kLoop, 22, ELOOP)                    \
  X(kCrossDevice, 23, EXDEV)             \
  X(kNotSupported, 24, EOPNOTSUPP)       \
  X(kNotImplemented, 25, ENOSYS)         \
  X(kBusy, 26, EBUSY)                    \
  X(kTextBusy, 27, ETXTBSY)              \
  X(kNoDevice, 28, ENXIO)                \
  X(kOverflow, 29, EOVERFLOW)            \
  X(kDeadlock, 30, EDEADLK)              \
  X(kNoLocks, 31, ENOLCK)                \
  X(kInterrupted, 32, EINTR)             \
  X(kTimedOut, 33, ETIMEDOUT)            \
  X(kUnavailable, 34, EIO)               \
  X(kProtocolError, 35, EPROTO)          \
  X(kNoMemory, 36, ENOMEM)               \
  X(kBadMessage, 37, EBADMSG)            \
  X(kSeekPipe, 38, ESPIPE)               \
  X(kNoVolume, 39, ENOENT)               \
  X(kTooManyFiles, 40, EMFILE)          \
  X(kNotPrimary, 41, EIO)

enum class Code : uint16_t {
#define SHOAL_STATUS_ENUM(name, wire, err) name = wire,
  SHOAL_STATUS_CODES(SHOAL_STATUS_ENUM)
#undef SHOAL_STATUS_ENUM
};

// The errno a FUSE reply carries for `code` (0 for kOk, EIO for a code this build does not know).
int ErrnoFromCode(Code code);
// The code for an errno from a system call; unknown errnos become kIoError.
Code CodeFromErrno(int err);
// kNotFound -> "NotFound": the stable name used in logs and JSON.
std::string_view CodeName(Code code);
// A wire number from a peer; unknown numbers become kIoError (never an invalid enum value).
Code CodeFromWire(uint32_t wire);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: no such brick directory /srv/x"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// errno from the call that just failed, with what was being done.
Status ErrnoStatus(int err, std::string_view what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace shoal

// Propagation: the only two macros of the project.
#define SHOAL_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::shoal::Status shoal_status_ = (expr);  \
    if (!shoal_status_.ok()) return shoal_status_; \
  } while (0)

#define SHOAL_CONCAT_INNER(a, b) a##b
#define SHOAL_CONCAT(a, b) SHOAL_CONCAT_INNER(a, b)
#define SHOAL_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto SHOAL_CONCAT(shoal_result_, __LINE__) = (expr);                 \
  if (!SHOAL_CONCAT(shoal_result_, __LINE__).ok())                     \
    return SHOAL_CONCAT(shoal_result_, __LINE__).status();             \
  lhs = std::move(SHOAL_CONCAT(shoal_result_, __LINE__)).value()

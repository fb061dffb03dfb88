// Times on the wire are int64 nanoseconds since the epoch (negative before 1970); these convert
// them to and from timespec, whose tv_nsec must stay in [0, 1e9) even for negative times.
#pragma once

#include <time.h>

#include <cstdint>

namespace shoal {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

inline int64_t NanosFromTimespec(const timespec& ts) { return ts.tv_sec * kNanosPerSecond + ts.tv_nsec; }

inline timespec TimespecFromNanos(int64_t ns) {
  int64_t seconds = ns / kNanosPerSecond;
  int64_t nanos = ns % kNanosPerSecond;
  if (nanos < 0) {  // C++ division truncates toward zero; timespec wants the floor
    seconds -= 1;
    nanos += kNanosPerSecond;
  }
  return timespec{.tv_sec = seconds, .tv_nsec = nanos};
}

}  // namespace shoal

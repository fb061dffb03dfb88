// What a program sees right after writes that a shoal mount answered before the server had them
// (write-behind): sizes and times, reads through another descriptor, truncation, new times,
// appends, O_TRUNC opens, holes and listings must all come after those writes, as locally.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/posix/posix_test.h"

namespace shoal::testing::posix {
namespace {

constexpr off_t kKiB = 1 << 10;
constexpr off_t kMiB = 1 << 20;

class PosixWriteBehind : public PosixTest {};
INSTANTIATE_TEST_SUITE_P(Backing, PosixWriteBehind, kBackings, BackingName);

std::string Pattern(size_t size, int seed = 0) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 4096 + seed) % 26);
  return bytes;
}

int64_t MtimeNs(const struct stat& st) { return st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec; }

// `count` writes of 1 MiB at the descriptor's position, recorded as one line.
void WriteMiBs(Trace& t, std::string_view what, int fd, int count, int seed = 0) {
  const std::string block = Pattern(kMiB, seed);
  int64_t written = 0;
  for (int i = 0; i < count; ++i) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n < 0) return (void)t.Call(what, Sys(n));
    written += n;
  }
  t.Note(what, written);
}

// Whether the page cache holds pages of the file matters to nothing here: reads through a new
// descriptor after dropping them must come from the filesystem.
std::string ReadFresh(Trace& t, std::string_view what, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  std::string content;
  char buffer[64 * 1024];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) content.append(buffer, n);
  ::close(fd);
  t.Note(std::string(what) + " size", static_cast<int64_t>(content.size()));
  return content;
}

void StatRightAfterWrites(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  MakeFile(t, path, "x");
  timespec past[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  t.Call("utimensat past", Sys(::utimensat(AT_FDCWD, path.c_str(), past, 0)));
  int fd = t.Fd("open O_WRONLY", Sys(::open(path.c_str(), O_WRONLY)));
  WriteMiBs(t, "write 8 MiB", fd, 8);
  struct stat through_fd = NoteFstat(t, "fstat", fd);
  struct stat through_path = NoteStat(t, "stat", path);
  EXPECT_GT(MtimeNs(through_fd), 1'000'000'000LL * 1'000'000'000LL) << "fstat right after the writes";
  EXPECT_GT(MtimeNs(through_path), 1'000'000'000LL * 1'000'000'000LL) << "stat right after the writes";
  WriteMiBs(t, "write 3 MiB more", fd, 3);
  // A listing returns attributes too (readdirplus): the size seen after it must be the new one.
  NoteListing(t, "listing", root);
  NoteStat(t, "stat after listing", path);
  ::close(fd);
  NoteStat(t, "stat after close", path);
}

void ReadBackThroughAnotherDescriptor(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int writer = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  int reader = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  WriteMiBs(t, "write 6 MiB", writer, 6, 1);
  (void)::posix_fadvise(reader, 0, 0, POSIX_FADV_DONTNEED);
  NotePread(t, "pread 4 at 6 MiB - 2", reader, 4, 6 * kMiB - 2);  // the last write's end
  t.Call("pwrite 'mid' at 3 MiB - 1", Sys(::pwrite(writer, "mid", 3, 3 * kMiB - 1)));
  (void)::posix_fadvise(reader, 0, 0, POSIX_FADV_DONTNEED);
  NotePread(t, "pread 5 at 3 MiB - 2", reader, 5, 3 * kMiB - 2);
  std::string expected = Pattern(kMiB, 1);
  std::string all;
  for (int i = 0; i < 6; ++i) all += expected;
  all.replace(3 * kMiB - 1, 3, "mid");
  EXPECT_TRUE(ReadFresh(t, "read through a new descriptor", path) == all);
  ::close(reader);
  ::close(writer);
}

void TruncateRightAfterWrites(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  WriteMiBs(t, "write 4 MiB", fd, 4);
  t.Call("ftruncate 1 MiB + 3", Sys(::ftruncate(fd, kMiB + 3)));
  NoteFstat(t, "fstat", fd);
  t.Call("pwrite 'end' at 2 MiB", Sys(::pwrite(fd, "end", 3, 2 * kMiB)));
  WriteMiBs(t, "write 2 MiB at the position", fd, 2, 2);
  t.Call("truncate by path to 5 MiB + 1", Sys(::truncate(path.c_str(), 5 * kMiB + 1)));
  NoteStat(t, "stat", path);
  ::close(fd);
  NotePread(t, "bytes around the first cut", fd = ::open(path.c_str(), O_RDONLY), 8, kMiB - 2);
  NotePread(t, "bytes around 'end'", fd, 8, 2 * kMiB - 2);
  ::close(fd);
  std::string content = ReadFresh(t, "content", path);
  std::string expected = Pattern(kMiB).substr(0, kMiB);
  expected += Pattern(kMiB).substr(0, 3);
  expected.resize(2 * kMiB, '\0');
  expected += "end";
  expected.resize(4 * kMiB, '\0');
  expected += Pattern(kMiB, 2);
  expected += Pattern(kMiB, 2).substr(0, 1);
  EXPECT_TRUE(content == expected);
}

void NewTimesRightAfterWritesStay(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_WRONLY, 0644)));
  WriteMiBs(t, "write 4 MiB", fd, 4);
  timespec times[2] = {{1'500'000'000, 123}, {1'500'000'000, 456}};
  t.Call("futimens", Sys(::futimens(fd, times)));  // what cp -p and rsync do after the data
  ::close(fd);
  NoteTimes(t, "times after close", path);
}

void AppendAfterWritesThroughAnotherDescriptor(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int writer = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_WRONLY, 0644)));
  int appender = t.Fd("open O_APPEND", Sys(::open(path.c_str(), O_WRONLY | O_APPEND)));
  WriteMiBs(t, "write 3 MiB", writer, 3);
  t.Call("append 'tail'", Sys(::write(appender, "tail", 4)));
  t.Call("pwrite at 1 MiB", Sys(::pwrite(writer, "ONE", 3, kMiB)));
  t.Call("append 'more'", Sys(::write(appender, "more", 4)));
  NoteFstat(t, "fstat", appender);
  ::close(appender);
  ::close(writer);
  NotePread(t, "the end", writer = ::open(path.c_str(), O_RDONLY), 10, 3 * kMiB - 2);
  NotePread(t, "at 1 MiB", writer, 5, kMiB - 1);
  ::close(writer);
}

void TruncatingOpenAfterWritesThroughAnotherDescriptor(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int writer = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_WRONLY, 0644)));
  WriteMiBs(t, "write 4 MiB", writer, 4);
  int truncating = t.Fd("open O_TRUNC", Sys(::open(path.c_str(), O_WRONLY | O_TRUNC)));
  NoteFstat(t, "fstat after O_TRUNC", truncating);
  t.Call("write 'new'", Sys(::write(truncating, "new", 3)));
  ::close(truncating);
  ::close(writer);
  NoteStat(t, "stat", path);
  ReadFresh(t, "content", path);
}

void ManyOverlappingWritesThenFsync(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  std::string expected;
  int failures = 0;
  // Writes of odd sizes at offsets that keep landing on earlier ones, some far apart.
  for (int i = 0; i < 200; ++i) {
    const size_t size = 1 + (i * 7919) % (96 * kKiB);
    const off_t at = (i * 104729) % (3 * kMiB);
    const std::string block = Pattern(size, i);
    failures += ::pwrite(fd, block.data(), size, at) != static_cast<ssize_t>(size);
    if (expected.size() < static_cast<size_t>(at) + size) expected.resize(at + size, '\0');
    expected.replace(at, size, block);
  }
  t.Note("failed writes", failures);
  t.Call("fsync", Sys(::fsync(fd)));
  NoteFstat(t, "fstat", fd);
  ::close(fd);
  EXPECT_TRUE(ReadFresh(t, "content", path) == expected) << "an earlier write landed over a later one";
}

void HolesAndPunchesRightAfterWrites(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("pwrite 1 MiB at 4 MiB", Sys(::pwrite(fd, Pattern(kMiB).data(), kMiB, 4 * kMiB)));
  t.Call("SEEK_DATA 0", Sys(::lseek(fd, 0, SEEK_DATA)));
  t.Call("SEEK_HOLE 4 MiB", Sys(::lseek(fd, 4 * kMiB, SEEK_HOLE)));
  t.Call("pwrite 1 MiB at 0", Sys(::pwrite(fd, Pattern(kMiB).data(), kMiB, 0)));
  t.Call("punch 64 KiB at 128 KiB",
         Sys(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 128 * kKiB, 64 * kKiB)));
  NotePread(t, "pread 4 at 128 KiB - 2", fd, 4, 128 * kKiB - 2);
  NoteFstat(t, "fstat", fd);
  ::close(fd);
}

TEST_P(PosixWriteBehind, StatRightAfterWrites) { ExpectSameOnBoth(StatRightAfterWrites); }
TEST_P(PosixWriteBehind, ReadBackThroughAnotherDescriptor) { ExpectSameOnBoth(ReadBackThroughAnotherDescriptor); }
TEST_P(PosixWriteBehind, TruncateRightAfterWrites) { ExpectSameOnBoth(TruncateRightAfterWrites); }
TEST_P(PosixWriteBehind, NewTimesRightAfterWritesStay) { ExpectSameOnBoth(NewTimesRightAfterWritesStay); }
TEST_P(PosixWriteBehind, AppendAfterWritesThroughAnotherDescriptor) {
  ExpectSameOnBoth(AppendAfterWritesThroughAnotherDescriptor);
}
TEST_P(PosixWriteBehind, TruncatingOpenAfterWritesThroughAnotherDescriptor) {
  ExpectSameOnBoth(TruncatingOpenAfterWritesThroughAnotherDescriptor);
}
TEST_P(PosixWriteBehind, ManyOverlappingWritesThenFsync) { ExpectSameOnBoth(ManyOverlappingWritesThenFsync); }
TEST_P(PosixWriteBehind, HolesAndPunchesRightAfterWrites) { ExpectSameOnBoth(HolesAndPunchesRightAfterWrites); }

}  // namespace
}  // namespace shoal::testing::posix

// Regular files: opening and creating, reading and writing, sizes past 4 GiB, holes, truncation,
// preallocation, syncing, mmap, and a file that lives on after its last name is gone.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "tests/posix/posix_test.h"

namespace shoal::testing::posix {
namespace {

constexpr off_t kKiB = 1 << 10;
constexpr off_t kMiB = 1 << 20;
constexpr off_t kGiB = 1LL << 30;

class PosixFiles : public PosixTest {};
INSTANTIATE_TEST_SUITE_P(Backing, PosixFiles, kBackings, BackingName);

// Bytes that differ from one offset to the next, so a misplaced block shows up.
std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return bytes;
}

int64_t MtimeNs(const struct stat& st) { return st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec; }

void CreateAndOpenFlags(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  int fd = t.Fd("open new O_CREAT|O_EXCL", Sys(::open(p("new").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640)));
  NoteFstat(t, "fstat new", fd);
  ::close(fd);
  t.Fd("open new O_CREAT|O_EXCL again", Sys(::open(p("new").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640)));
  fd = t.Fd("open new O_CREAT", Sys(::open(p("new").c_str(), O_CREAT | O_WRONLY, 0600)));
  ::close(fd);
  NoteStat(t, "stat new (mode from the first create)", p("new"));
  fd = t.Fd("open new O_EXCL without O_CREAT", Sys(::open(p("new").c_str(), O_EXCL | O_RDONLY)));
  ::close(fd);
  t.Fd("open missing", Sys(::open(p("missing").c_str(), O_RDONLY)));
  t.Fd("open missing/x O_CREAT", Sys(::open(p("missing/x").c_str(), O_CREAT | O_WRONLY, 0644)));
  t.Fd("open new/x", Sys(::open(p("new/x").c_str(), O_RDONLY)));
  t.Fd("open new O_DIRECTORY", Sys(::open(p("new").c_str(), O_RDONLY | O_DIRECTORY)));

  t.Call("mkdir d", Sys(::mkdir(p("d").c_str(), 0755)));
  t.Fd("open d O_CREAT|O_EXCL", Sys(::open(p("d").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)));
  t.Fd("open d O_WRONLY", Sys(::open(p("d").c_str(), O_WRONLY)));
  fd = t.Fd("open d O_RDONLY|O_DIRECTORY", Sys(::open(p("d").c_str(), O_RDONLY | O_DIRECTORY)));
  ::close(fd);

  // Creation through a dangling symlink creates its target; O_EXCL refuses the link itself.
  t.Call("symlink made-by-link <- via-link", Sys(::symlink("made-by-link", p("via-link").c_str())));
  t.Fd("open via-link O_CREAT|O_EXCL", Sys(::open(p("via-link").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)));
  t.Fd("open via-link O_NOFOLLOW", Sys(::open(p("via-link").c_str(), O_RDONLY | O_NOFOLLOW)));
  fd = t.Fd("open via-link O_CREAT", Sys(::open(p("via-link").c_str(), O_CREAT | O_WRONLY, 0644)));
  if (fd >= 0) t.Call("write", Sys(::write(fd, "through", 7)));
  ::close(fd);
  NoteStat(t, "lstat via-link", p("via-link"), /*follow=*/false);
  NoteStat(t, "stat made-by-link", p("made-by-link"));
  NoteContent(t, "content made-by-link", p("made-by-link"));
  NoteListing(t, "listing", root);
}

// The permission bits asked for at creation are the file's, set-id bits included (less the umask).
void CreateKeepsSetIdBits(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  for (mode_t mode : {04755, 02755, 06750, 01644}) {
    char name_text[16];
    std::snprintf(name_text, sizeof name_text, "mode-%05o", mode);
    const std::string name = name_text;
    int fd = t.Fd("open " + name + " O_CREAT", Sys(::open(p(name.c_str()).c_str(), O_CREAT | O_WRONLY, mode)));
    NoteFstat(t, "fstat " + name, fd);
    ::close(fd);
    NoteStat(t, "stat " + name, p(name.c_str()));
  }
  t.Call("mknod mode-04755-mknod", Sys(::mknod(p("mode-04755-mknod").c_str(), S_IFREG | 04755, 0)));
  NoteStat(t, "stat mode-04755-mknod", p("mode-04755-mknod"));
}

void TruncateOnOpen(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  MakeFile(t, path, "hello world");
  timespec past[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  t.Call("utimensat past", Sys(::utimensat(AT_FDCWD, path.c_str(), past, 0)));
  int fd = t.Fd("open O_WRONLY|O_TRUNC", Sys(::open(path.c_str(), O_WRONLY | O_TRUNC)));
  struct stat st = NoteFstat(t, "fstat", fd);
  EXPECT_GT(MtimeNs(st), 1'000'000'000LL * 1'000'000'000LL) << "O_TRUNC must update mtime";
  ::close(fd);
  NoteContent(t, "content after O_TRUNC", path);
  MakeFile(t, path, "hello again");
  fd = t.Fd("open O_RDWR|O_TRUNC", Sys(::open(path.c_str(), O_RDWR | O_TRUNC)));
  t.Call("write new", Sys(::write(fd, "new", 3)));
  NotePread(t, "pread", fd, 64, 0);
  ::close(fd);
  NoteContent(t, "content", path);
  NoteStat(t, "stat", path);
}

void AppendFromTwoDescriptors(const std::string& root, Trace& t) {
  const std::string path = root + "/log";
  MakeFile(t, path, "start.");
  int a = t.Fd("open a O_APPEND", Sys(::open(path.c_str(), O_WRONLY | O_APPEND)));
  int b = t.Fd("open b O_APPEND", Sys(::open(path.c_str(), O_WRONLY | O_APPEND)));
  t.Call("write a", Sys(::write(a, "aaa", 3)));
  t.Call("write b", Sys(::write(b, "bbbb", 4)));
  t.Call("write a", Sys(::write(a, "cc", 2)));
  t.Call("lseek a SEEK_CUR", Sys(::lseek(a, 0, SEEK_CUR)));
  t.Call("lseek b SEEK_CUR", Sys(::lseek(b, 0, SEEK_CUR)));
  // On Linux a pwrite to an O_APPEND descriptor appends whatever the offset.
  t.Call("pwrite b at 0", Sys(::pwrite(b, "P", 1, 0)));
  t.Call("lseek a 0 SEEK_SET", Sys(::lseek(a, 0, SEEK_SET)));
  t.Call("write a after seeking to 0", Sys(::write(a, "!", 1)));
  ::close(a);
  ::close(b);
  std::string content = NoteContent(t, "content", path);
  EXPECT_EQ(content, "start.aaabbbbccP!");
  NoteStat(t, "stat", path);

  // One append larger than a single request: its pieces must land in order, at the end.
  const std::string big = Pattern(3 * kMiB + 5);
  a = t.Fd("open a O_APPEND", Sys(::open(path.c_str(), O_WRONLY | O_APPEND)));
  t.Call("write 3 MiB + 5", Sys(::write(a, big.data(), big.size())));
  t.Call("write tail", Sys(::write(a, "END", 3)));
  ::close(a);
  content = NoteContent(t, "content", path);
  EXPECT_TRUE(content == "start.aaabbbbccP!" + big + "END") << "a large O_APPEND write came back out of order";
}

void ReadWriteAndPositionalIo(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("write 10", Sys(::write(fd, "0123456789", 10)));
  t.Call("lseek SEEK_CUR", Sys(::lseek(fd, 0, SEEK_CUR)));
  t.Call("lseek 0 SEEK_SET", Sys(::lseek(fd, 0, SEEK_SET)));
  char buffer[64] = {};
  t.Call("read 4", Sys(::read(fd, buffer, 4)));
  t.Note("read 4 got", std::string(buffer, 4));
  t.Call("pwrite 'ab' at 2", Sys(::pwrite(fd, "ab", 2, 2)));
  t.Call("lseek SEEK_CUR after pwrite", Sys(::lseek(fd, 0, SEEK_CUR)));
  t.Call("read 64", Sys(::read(fd, buffer, 64)));
  t.Note("read 64 got", std::string(buffer, 6));
  t.Call("read at EOF", Sys(::read(fd, buffer, 64)));
  NotePread(t, "pread 10 at 8", fd, 10, 8);
  NotePread(t, "pread at 100", fd, 10, 100);
  t.Call("pwrite at 20", Sys(::pwrite(fd, "Z", 1, 20)));
  NotePread(t, "pread all", fd, 64, 0);
  t.Call("lseek SEEK_END", Sys(::lseek(fd, 0, SEEK_END)));
  t.Call("lseek -100 SEEK_SET", Sys(::lseek(fd, -100, SEEK_SET)));
  t.Call("pwrite at -1", Sys(::pwrite(fd, "x", 1, -1)));
  // Past the largest file the filesystem can hold (ext4: 16 TiB; tmpfs takes it as a hole).
  t.Call("pwrite at 16 TiB", Sys(::pwrite(fd, "x", 1, 16 * 1024 * kGiB)));
  t.Call("ftruncate back to 0", Sys(::ftruncate(fd, 0)));
  t.Call("pwrite 10 at 0", Sys(::pwrite(fd, "0123456789", 10, 0)));

  // One call moving more than the 1 MiB a single request carries, at an offset that is not
  // aligned to anything.
  const std::string big = Pattern(3 * kMiB + 17);
  t.Call("pwrite 3 MiB + 17 at 5", Sys(::pwrite(fd, big.data(), big.size(), 5)));
  std::string back(big.size(), '\0');
  t.Call("pread 3 MiB + 17 at 5", Sys(::pread(fd, back.data(), back.size(), 5)));
  EXPECT_TRUE(back == big) << "the large write did not read back intact";
  t.Note("large read matches", back == big ? "yes" : "no");
  ::close(fd);
  NoteStat(t, "stat", path);
  NoteContent(t, "content", path);

  fd = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  t.Call("write to O_RDONLY", Sys(::write(fd, "x", 1)));
  ::close(fd);
  fd = t.Fd("open O_WRONLY", Sys(::open(path.c_str(), O_WRONLY)));
  t.Call("read from O_WRONLY", Sys(::read(fd, buffer, 1)));
  ::close(fd);
}

void FileLargerThan4GiB(const std::string& root, Trace& t) {
  const std::string path = root + "/big";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("pwrite 'tail' at 5 GiB", Sys(::pwrite(fd, "tail", 4, 5 * kGiB)));
  struct stat st = NoteFstat(t, "fstat", fd);
  EXPECT_EQ(st.st_size, 5 * kGiB + 4);
  NoteStat(t, "stat", path);
  EXPECT_EQ(NotePread(t, "pread 4 at 5 GiB", fd, 4, 5 * kGiB), "tail");
  EXPECT_EQ(NotePread(t, "pread 8 at 5 GiB - 4", fd, 8, 5 * kGiB - 4), std::string(4, '\0') + "tail");
  EXPECT_EQ(NotePread(t, "pread 16 at 4 GiB", fd, 16, 4 * kGiB), std::string(16, '\0'));
  NotePread(t, "pread 16 at 0", fd, 16, 0);
  NotePread(t, "pread at the end", fd, 16, 5 * kGiB + 4);
  t.Call("pwrite 'mid' at 4 GiB + 1", Sys(::pwrite(fd, "mid", 3, 4 * kGiB + 1)));
  NotePread(t, "pread 5 at 4 GiB", fd, 5, 4 * kGiB);
  t.Call("lseek SEEK_END", Sys(::lseek(fd, 0, SEEK_END)));
  t.Call("lseek SEEK_HOLE 0", Sys(::lseek(fd, 0, SEEK_HOLE)));
  t.Call("lseek SEEK_DATA 4 GiB + 1", Sys(::lseek(fd, 4 * kGiB + 1, SEEK_DATA)));
  t.Call("ftruncate 4 GiB + 2", Sys(::ftruncate(fd, 4 * kGiB + 2)));
  NoteFstat(t, "fstat", fd);
  NotePread(t, "pread 8 at 4 GiB", fd, 8, 4 * kGiB);
  ::close(fd);
  t.Call("truncate 6 GiB", Sys(::truncate(path.c_str(), 6 * kGiB)));
  NoteStat(t, "stat", path);
}

void SeekDataAndHole(const std::string& root, Trace& t) {
  const std::string path = root + "/sparse";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("pwrite x at 1 MiB", Sys(::pwrite(fd, "x", 1, kMiB)));
  t.Call("pwrite y at 3 MiB", Sys(::pwrite(fd, "y", 1, 3 * kMiB)));
  EXPECT_EQ(t.Call("SEEK_DATA 0", Sys(::lseek(fd, 0, SEEK_DATA))), kMiB);
  EXPECT_EQ(t.Call("SEEK_HOLE 0", Sys(::lseek(fd, 0, SEEK_HOLE))), 0);
  t.Call("SEEK_HOLE 1 MiB", Sys(::lseek(fd, kMiB, SEEK_HOLE)));
  EXPECT_EQ(t.Call("SEEK_DATA 1 MiB + 64 KiB", Sys(::lseek(fd, kMiB + 64 * kKiB, SEEK_DATA))), 3 * kMiB);
  t.Call("SEEK_HOLE 3 MiB", Sys(::lseek(fd, 3 * kMiB, SEEK_HOLE)));
  t.Call("SEEK_DATA at the end", Sys(::lseek(fd, 3 * kMiB + 1, SEEK_DATA)));
  t.Call("SEEK_HOLE at the end", Sys(::lseek(fd, 3 * kMiB + 1, SEEK_HOLE)));
  t.Call("SEEK_DATA past the end", Sys(::lseek(fd, 10 * kMiB, SEEK_DATA)));
  t.Call("SEEK_DATA -1", Sys(::lseek(fd, -1, SEEK_DATA)));
  NotePread(t, "pread 4 at 1 MiB - 2", fd, 4, kMiB - 2);
  NoteFstat(t, "fstat", fd);
  ::close(fd);

  MakeFile(t, root + "/dense", Pattern(10000));
  fd = t.Fd("open dense", Sys(::open((root + "/dense").c_str(), O_RDONLY)));
  t.Call("dense SEEK_DATA 0", Sys(::lseek(fd, 0, SEEK_DATA)));
  EXPECT_EQ(t.Call("dense SEEK_HOLE 0", Sys(::lseek(fd, 0, SEEK_HOLE))), 10000);
  ::close(fd);
}

void TruncateUpAndDown(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  MakeFile(t, path, "0123456789");
  timespec past[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  t.Call("utimensat past", Sys(::utimensat(AT_FDCWD, path.c_str(), past, 0)));
  t.Call("truncate 100", Sys(::truncate(path.c_str(), 100)));
  struct stat st = NoteStat(t, "stat", path);
  EXPECT_GT(MtimeNs(st), 1'000'000'000LL * 1'000'000'000LL) << "truncate must update mtime";
  NoteContent(t, "content", path);
  t.Call("truncate 5", Sys(::truncate(path.c_str(), 5)));
  NoteContent(t, "content", path);
  t.Call("truncate 5 again", Sys(::truncate(path.c_str(), 5)));
  t.Call("truncate -1", Sys(::truncate(path.c_str(), -1)));
  t.Call("truncate missing", Sys(::truncate((root + "/missing").c_str(), 0)));
  t.Call("mkdir d", Sys(::mkdir((root + "/d").c_str(), 0755)));
  t.Call("truncate d", Sys(::truncate((root + "/d").c_str(), 0)));
  // Past what the filesystem can hold (ext4: EFBIG; tmpfs takes it as a hole).
  t.Call("truncate 1 PiB", Sys(::truncate(path.c_str(), 1LL << 50)));
  t.Call("truncate 5", Sys(::truncate(path.c_str(), 5)));

  int fd = t.Fd("open O_RDWR", Sys(::open(path.c_str(), O_RDWR)));
  t.Call("ftruncate 3", Sys(::ftruncate(fd, 3)));
  NoteFstat(t, "fstat", fd);
  t.Call("ftruncate 8192", Sys(::ftruncate(fd, 8192)));
  NoteFstat(t, "fstat", fd);
  NotePread(t, "pread 4 at 1", fd, 4, 1);
  t.Call("ftruncate 0", Sys(::ftruncate(fd, 0)));
  NotePread(t, "pread", fd, 4, 0);
  ::close(fd);
  fd = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  t.Call("ftruncate O_RDONLY", Sys(::ftruncate(fd, 1)));
  ::close(fd);
  NoteStat(t, "stat", path);
}

void Fallocate(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("fallocate 0..1 MiB", Sys(::fallocate(fd, 0, 0, kMiB)));
  struct stat st = NoteFstat(t, "fstat", fd);
  EXPECT_GE(st.st_blocks * 512, kMiB) << "fallocate must reserve the blocks";
  NotePread(t, "pread 16 at 512 KiB", fd, 16, 512 * kKiB);
  t.Call("fallocate KEEP_SIZE 1..2 MiB", Sys(::fallocate(fd, FALLOC_FL_KEEP_SIZE, kMiB, kMiB)));
  st = NoteFstat(t, "fstat", fd);
  EXPECT_GE(st.st_blocks * 512, 2 * kMiB);
  t.Call("fallocate 2 MiB..+4 KiB", Sys(::fallocate(fd, 0, 2 * kMiB, 4 * kKiB)));
  NoteFstat(t, "fstat", fd);

  const std::string data = Pattern(256 * kKiB);
  t.Call("pwrite 256 KiB at 0", Sys(::pwrite(fd, data.data(), data.size(), 0)));
  const blkcnt_t blocks_before = NoteFstat(t, "fstat", fd).st_blocks;
  t.Call("fallocate PUNCH_HOLE|KEEP_SIZE 64..128 KiB",
         Sys(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 * kKiB, 64 * kKiB)));
  st = NoteFstat(t, "fstat", fd);
  EXPECT_LT(st.st_blocks, blocks_before) << "punching a hole must free blocks";
  EXPECT_EQ(NotePread(t, "pread 32 at 64 KiB", fd, 32, 64 * kKiB), std::string(32, '\0'));
  NotePread(t, "pread 8 at 64 KiB - 4", fd, 8, 64 * kKiB - 4);
  NotePread(t, "pread 8 at 128 KiB - 4", fd, 8, 128 * kKiB - 4);
  EXPECT_EQ(t.Call("SEEK_HOLE 0", Sys(::lseek(fd, 0, SEEK_HOLE))), 64 * kKiB);
  t.Call("SEEK_DATA 64 KiB", Sys(::lseek(fd, 64 * kKiB, SEEK_DATA)));

  t.Call("fallocate PUNCH_HOLE without KEEP_SIZE", Sys(::fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4 * kKiB)));
  t.Call("fallocate ZERO_RANGE 0..4 KiB", Sys(::fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4 * kKiB)));
  t.Call("fallocate length 0", Sys(::fallocate(fd, 0, 0, 0)));
  t.Call("fallocate offset -1", Sys(::fallocate(fd, 0, -1, 10)));
  NoteFstat(t, "fstat", fd);
  ::close(fd);
  fd = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  t.Call("fallocate O_RDONLY", Sys(::fallocate(fd, 0, 0, 4 * kKiB)));
  ::close(fd);
}

void SyncCalls(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  int fd = t.Fd("create", Sys(::open(path.c_str(), O_CREAT | O_RDWR, 0644)));
  t.Call("write", Sys(::write(fd, "data", 4)));
  t.Call("fsync", Sys(::fsync(fd)));
  t.Call("fdatasync", Sys(::fdatasync(fd)));
  ::close(fd);
  fd = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  t.Call("fsync O_RDONLY", Sys(::fsync(fd)));
  ::close(fd);
  t.Call("mkdir d", Sys(::mkdir((root + "/d").c_str(), 0755)));
  fd = t.Fd("open d", Sys(::open((root + "/d").c_str(), O_RDONLY | O_DIRECTORY)));
  t.Call("fsync d", Sys(::fsync(fd)));
  t.Call("fdatasync d", Sys(::fdatasync(fd)));
  ::close(fd);
  fd = t.Fd("open root", Sys(::open(root.c_str(), O_RDONLY | O_DIRECTORY)));
  t.Call("fsync root", Sys(::fsync(fd)));
  t.Call("syncfs", Sys(::syncfs(fd)));
  ::close(fd);
}

void MmapSeesWrites(const std::string& root, Trace& t) {
  const std::string path = root + "/m";
  const std::string data = Pattern(10000);
  MakeFile(t, path, data);
  int fd = t.Fd("open O_RDWR", Sys(::open(path.c_str(), O_RDWR)));
  void* map = ::mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  t.Note("mmap", map == MAP_FAILED ? "-1 " + ErrnoName(errno) : "mapped");
  if (map == MAP_FAILED) return;
  char* bytes = static_cast<char*>(map);
  EXPECT_TRUE(std::string(bytes, data.size()) == data) << "the mapping must show what write() wrote";
  t.Note("mapped bytes", std::string(bytes, 64));
  t.Note("mapped bytes equal the written ones", std::string(bytes, data.size()) == data ? "yes" : "no");
  t.Call("pwrite LATER at 200", Sys(::pwrite(fd, "LATER", 5, 200)));
  t.Note("mapping at 200", std::string(bytes + 200, 5));
  std::memcpy(bytes + 100, "MAPPED", 6);
  t.Call("msync", Sys(::msync(map, data.size(), MS_SYNC)));
  ::munmap(map, data.size());
  ::close(fd);
  NoteContent(t, "content", path);
  fd = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  EXPECT_EQ(NotePread(t, "pread 6 at 100", fd, 6, 100), "MAPPED");
  map = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
  if (map != MAP_FAILED) {
    t.Note("new read-only mapping at 100", std::string(static_cast<char*>(map) + 100, 6));
    ::munmap(map, data.size());
  }
  t.Note("mmap PROT_WRITE MAP_SHARED of O_RDONLY",
         ::mmap(nullptr, 4096, PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? "-1 " + ErrnoName(errno) : "mapped");
  ::close(fd);
}

void UnlinkedFileStaysUsable(const std::string& root, Trace& t) {
  const std::string path = root + "/doomed";
  MakeFile(t, path, "still here");
  int writer = t.Fd("open O_RDWR", Sys(::open(path.c_str(), O_RDWR)));
  int reader = t.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
  t.Call("unlink", Sys(::unlink(path.c_str())));
  NoteStat(t, "stat", path);
  NoteListing(t, "listing", root);
  t.Call("pwrite STILL at 0", Sys(::pwrite(writer, "STILL", 5, 0)));
  EXPECT_EQ(NotePread(t, "pread through the other descriptor", reader, 32, 0), "STILL here");
  struct stat st = NoteFstat(t, "fstat", writer);
  EXPECT_EQ(st.st_nlink, 0u);
  t.Call("ftruncate 5", Sys(::ftruncate(writer, 5)));
  NoteFstat(t, "fstat reader", reader);
  t.Call("fchmod 0600", Sys(::fchmod(writer, 0600)));
  t.Call("fchown 1234:5678", Sys(::fchown(writer, 1234, 5678)));
  NoteFstat(t, "fstat", writer);
  t.Call("fsetxattr user.k", Sys(::fsetxattr(writer, "user.k", "v", 1, 0)));
  char value[8] = {};
  t.Call("fgetxattr user.k", Sys(::fgetxattr(reader, "user.k", value, sizeof value)));
  t.Note("value", value);
  t.Call("fsync", Sys(::fsync(writer)));
  ::close(writer);
  NotePread(t, "pread after the writer closed", reader, 32, 0);
  ::close(reader);
  t.Fd("open", Sys(::open(path.c_str(), O_RDONLY)));
}

void WriteMovesMtimeForward(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  MakeFile(t, path, "x");
  timespec past[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  t.Call("utimensat past", Sys(::utimensat(AT_FDCWD, path.c_str(), past, 0)));
  struct stat before {};
  ::stat(path.c_str(), &before);
  t.Note("mtime before", MtimeNs(before));
  int fd = t.Fd("open O_WRONLY", Sys(::open(path.c_str(), O_WRONLY)));
  t.Call("write", Sys(::write(fd, "more", 4)));
  struct stat through_fd {};
  ::fstat(fd, &through_fd);
  ::close(fd);
  struct stat through_path {};
  ::stat(path.c_str(), &through_path);
  EXPECT_GT(MtimeNs(through_fd), MtimeNs(before)) << "fstat after write";
  EXPECT_GT(MtimeNs(through_path), MtimeNs(before)) << "stat after write";
  EXPECT_GE(through_path.st_ctim.tv_sec, before.st_ctim.tv_sec) << "ctime after write";
  t.Note("mtime moved forward", MtimeNs(through_path) > MtimeNs(before) ? "yes" : "no");
  NoteStat(t, "stat", path);
}

// Appends from two processes at once: every write lands whole, none is lost or overwritten.
void ConcurrentAppendsStayWhole(const std::string& root, Trace& t) {
  const std::string path = root + "/log";
  MakeFile(t, path, "");
  constexpr int kSmall = 300;
  constexpr size_t kSmallBytes = 100, kLargeBytes = kMiB + kMiB / 2;  // a large one takes two requests
  auto appender = [&path](char letter) {
    return [&path, letter](Trace& ct, Child::Link& link) {
      int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
      link.Send('r');
      link.Receive();  // both start together
      int failures = 0;
      const std::string small(kSmallBytes, letter), large(kLargeBytes, static_cast<char>(letter + 32));
      for (int i = 0; i < kSmall; ++i) {
        failures += ::write(fd, small.data(), small.size()) != static_cast<ssize_t>(small.size());
        if (i % 100 == 0) failures += ::write(fd, large.data(), large.size()) != static_cast<ssize_t>(large.size());
      }
      ::close(fd);
      ct.Note(std::string("short or failed appends by ") + letter, failures);
    };
  };
  Child a(appender('A')), b(appender('B'));
  a.Receive();
  b.Receive();
  a.Send('g');
  b.Send('g');
  a.Wait(t);
  b.Wait(t);
  // Cut the file into runs of one byte value: each must be a whole number of appends.
  // The order of the appends is the scheduler's: only sizes and wholeness go into the trace.
  Trace unordered;
  const std::string content = NoteContent(unordered, "content", path);
  t.Note("size", static_cast<int64_t>(content.size()));
  std::map<char, size_t> bytes;
  int broken = 0;
  for (size_t at = 0; at < content.size();) {
    size_t end = content.find_first_not_of(content[at], at);
    if (end == std::string::npos) end = content.size();
    const size_t unit = std::islower(static_cast<unsigned char>(content[at])) ? kLargeBytes : kSmallBytes;
    broken += (end - at) % unit != 0;
    bytes[content[at]] += end - at;
    at = end;
  }
  EXPECT_EQ(broken, 0) << "appends interleaved or cut";
  t.Note("runs that are not whole appends", broken);
  for (const auto& [letter, count] : bytes) t.Note(std::string("bytes of ") + letter, static_cast<int64_t>(count));
}

// A program stored on the volume runs, and cannot be written while it runs.
void ExecuteAProgram(const std::string& root, Trace& t) {
  const std::string script = root + "/script";
  MakeFile(t, script, "#!/bin/sh\nexit 7\n");
  auto run = [&](const std::string& what) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(script.c_str(), script.c_str(), static_cast<char*>(nullptr));
      ::_exit(errno == EACCES ? 126 : 127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    t.Note(what, WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "signal");
  };
  run("run without the execute bit");
  t.Call("chmod 0755", Sys(::chmod(script.c_str(), 0755)));
  run("run");
  t.Call("access X_OK", Sys(::access(script.c_str(), X_OK)));

  const std::string program = root + "/true";
  int in = ::open("/bin/true", O_RDONLY);
  int out = t.Fd("create true", Sys(::open(program.c_str(), O_CREAT | O_WRONLY, 0755)));
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(in, buffer, sizeof buffer)) > 0) (void)!::write(out, buffer, n);
  ::close(in);
  ::close(out);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(program.c_str(), program.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  t.Note("run a copy of /bin/true", WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "signal");
}

TEST_P(PosixFiles, CreateAndOpenFlags) { ExpectSameOnBoth(CreateAndOpenFlags); }
TEST_P(PosixFiles, CreateKeepsSetIdBits) { ExpectSameOnBoth(CreateKeepsSetIdBits); }
TEST_P(PosixFiles, TruncateOnOpen) { ExpectSameOnBoth(TruncateOnOpen); }
TEST_P(PosixFiles, AppendFromTwoDescriptors) { ExpectSameOnBoth(AppendFromTwoDescriptors); }
TEST_P(PosixFiles, ReadWriteAndPositionalIo) { ExpectSameOnBoth(ReadWriteAndPositionalIo); }
TEST_P(PosixFiles, FileLargerThan4GiB) { ExpectSameOnBoth(FileLargerThan4GiB); }
TEST_P(PosixFiles, SeekDataAndHole) { ExpectSameOnBoth(SeekDataAndHole); }
TEST_P(PosixFiles, TruncateUpAndDown) { ExpectSameOnBoth(TruncateUpAndDown); }
TEST_P(PosixFiles, Fallocate) { ExpectSameOnBoth(Fallocate); }
TEST_P(PosixFiles, SyncCalls) { ExpectSameOnBoth(SyncCalls); }
TEST_P(PosixFiles, MmapSeesWrites) { ExpectSameOnBoth(MmapSeesWrites); }
TEST_P(PosixFiles, UnlinkedFileStaysUsable) { ExpectSameOnBoth(UnlinkedFileStaysUsable); }
TEST_P(PosixFiles, WriteMovesMtimeForward) { ExpectSameOnBoth(WriteMovesMtimeForward); }
TEST_P(PosixFiles, ExecuteAProgram) { ExpectSameOnBoth(ExecuteAProgram); }
TEST_P(PosixFiles, ConcurrentAppendsStayWhole) { ExpectSameOnBoth(ConcurrentAppendsStayWhole); }

}  // namespace
}  // namespace shoal::testing::posix

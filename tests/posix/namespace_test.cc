// Names: directories, removal, special files, symlinks, hard links, name limits and odd bytes in
// names, "..", and listing a directory while it changes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "tests/posix/posix_test.h"

namespace shoal::testing::posix {
namespace {

class PosixNames : public PosixTest {};
INSTANTIATE_TEST_SUITE_P(Backing, PosixNames, kBackings, BackingName);

ino_t InoOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

void MkdirRmdirUnlink(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  t.Call("mkdir a", Sys(::mkdir(p("a").c_str(), 0755)));
  t.Call("mkdir a again", Sys(::mkdir(p("a").c_str(), 0755)));
  t.Call("mkdir missing/x", Sys(::mkdir(p("missing/x").c_str(), 0755)));
  t.Call("mkdir '' (empty)", Sys(::mkdir("", 0755)));
  t.Call("mkdir sticky 01777", Sys(::mkdir(p("sticky").c_str(), 01777)));
  NoteStat(t, "stat sticky (less the umask)", p("sticky"));
  t.Call("mkdir with-slash/", Sys(::mkdir(p("with-slash/").c_str(), 0700)));
  NoteStat(t, "stat with-slash", p("with-slash"));
  NoteStat(t, "stat a", p("a"));
  MakeFile(t, p("a/f"), "f");
  t.Call("mkdir a/f/x", Sys(::mkdir(p("a/f/x").c_str(), 0755)));
  t.Call("mkdir a/sub", Sys(::mkdir(p("a/sub").c_str(), 0755)));
  NoteStat(t, "stat a (one subdirectory)", p("a"));
  t.Call("rmdir a (not empty)", Sys(::rmdir(p("a").c_str())));
  t.Call("rmdir missing", Sys(::rmdir(p("missing").c_str())));
  t.Call("rmdir a/f (a file)", Sys(::rmdir(p("a/f").c_str())));
  t.Call("rmdir a/sub/.", Sys(::rmdir(p("a/sub/.").c_str())));
  t.Call("rmdir a/sub/..", Sys(::rmdir(p("a/sub/..").c_str())));
  t.Call("unlink a/sub (a directory)", Sys(::unlink(p("a/sub").c_str())));
  t.Call("unlink a/f/x", Sys(::unlink(p("a/f/x").c_str())));
  t.Call("unlink a/f", Sys(::unlink(p("a/f").c_str())));
  t.Call("unlink a/f again", Sys(::unlink(p("a/f").c_str())));
  t.Call("rmdir a/sub", Sys(::rmdir(p("a/sub").c_str())));
  NoteStat(t, "stat a (no subdirectory)", p("a"));
  t.Call("rmdir a", Sys(::rmdir(p("a").c_str())));
  NoteStat(t, "stat a", p("a"));
  int fd = t.Fd("open a", Sys(::open(p("a").c_str(), O_RDONLY)));
  if (fd >= 0) ::close(fd);
  // A removed directory that is still open lists as empty and takes no new entries.
  t.Call("mkdir b", Sys(::mkdir(p("b").c_str(), 0755)));
  fd = t.Fd("open b", Sys(::open(p("b").c_str(), O_RDONLY | O_DIRECTORY)));
  t.Call("rmdir b", Sys(::rmdir(p("b").c_str())));
  struct stat st = NoteFstat(t, "fstat b", fd);
  t.Call("openat b/x O_CREAT", Sys(::openat(fd, "x", O_CREAT | O_WRONLY, 0644)));
  t.Call("mkdirat b/y", Sys(::mkdirat(fd, "y", 0755)));
  EXPECT_EQ(st.st_nlink, 0u) << "a removed directory has no links";
  ::close(fd);
  NoteListing(t, "listing", root);
}

// Drops the kernel's unused dentries everywhere, so that the next path walks look every name up.
void DropDentries() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "2\n";
}

// In a directory the mount made itself, the client knows every name and answers lookups of
// absent ones by itself: every way a name comes and goes must keep that knowledge right. The
// kernel caches the names it made, so each round of changes is followed by dropping its dentries
// and looking every name up again.
void NamesInADirectoryMadeHere(const std::string& root, Trace& t) {
  const std::vector<std::string> names = {"absent", "a", "b", "fifo", "l", "sub", "sub/b", "sub/inner", "inner"};
  auto look_up_all = [&](const std::string& when) {
    DropDentries();
    for (const std::string& name : names) NoteStat(t, "lstat made/" + name + " " + when, root + "/made/" + name, false);
  };
  auto p = [&](const std::string& name) { return root + "/made/" + name; };
  t.Call("mkdir made", Sys(::mkdir((root + "/made").c_str(), 0755)));
  NoteStat(t, "stat made/absent", p("absent"));
  MakeFile(t, p("a"), "a");
  NoteStat(t, "stat made/a", p("a"));
  t.Call("open made/a O_CREAT|O_EXCL", Sys(::open(p("a").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)));
  t.Call("mknod made/fifo", Sys(::mknod(p("fifo").c_str(), S_IFIFO | 0644, 0)));
  t.Call("symlink made/l", Sys(::symlink("a", p("l").c_str())));
  t.Call("link made/a made/b", Sys(::link(p("a").c_str(), p("b").c_str())));
  t.Call("mkdir made/sub", Sys(::mkdir(p("sub").c_str(), 0755)));
  MakeFile(t, p("sub/inner"), "inner");
  look_up_all("(made)");
  // Renaming a name onto another link of the same file leaves both names.
  t.Call("rename made/a made/b (one file)", Sys(::rename(p("a").c_str(), p("b").c_str())));
  NoteStat(t, "stat made/a", p("a"));
  NoteStat(t, "stat made/b", p("b"));
  t.Call("rename made/b made/sub/b", Sys(::rename(p("b").c_str(), p("sub/b").c_str())));
  NoteStat(t, "stat made/b", p("b"));
  NoteStat(t, "stat made/sub/b", p("sub/b"));
  t.Call("rename made/sub/inner made/inner", Sys(::rename(p("sub/inner").c_str(), p("inner").c_str())));
  NoteContent(t, "content made/inner", p("inner"));
  t.Call("rename made/inner made/fifo (exchange)",
         Sys(::renameat2(AT_FDCWD, p("inner").c_str(), AT_FDCWD, p("fifo").c_str(), RENAME_EXCHANGE)));
  look_up_all("(renamed)");
  NoteStat(t, "stat made/inner", p("inner"));
  NoteStat(t, "stat made/fifo", p("fifo"));
  t.Call("unlink made/l", Sys(::unlink(p("l").c_str())));
  NoteStat(t, "stat made/l", p("l"));
  t.Call("create made/l again", Sys(::symlink("inner", p("l").c_str())));
  NoteStat(t, "lstat made/l", p("l"), /*follow=*/false);
  t.Call("mkdir made/sub again", Sys(::mkdir(p("sub").c_str(), 0755)));
  t.Call("unlink made/sub/b", Sys(::unlink(p("sub/b").c_str())));
  t.Call("rmdir made/sub", Sys(::rmdir(p("sub").c_str())));
  look_up_all("(removed)");
  NoteListing(t, "listing made", root + "/made");
}

void RootDirectoryCountsOnlyVisibleSubdirectories(const std::string& root, Trace& t) {
  NoteStat(t, "stat root", root);
  t.Call("mkdir d", Sys(::mkdir((root + "/d").c_str(), 0755)));
  struct stat st = NoteStat(t, "stat root", root);
  NoteListing(t, "listing", root);
  EXPECT_EQ(st.st_nlink, 3u) << "2 + one visible subdirectory";
}

void SpecialFiles(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  t.Call("mknod fifo", Sys(::mknod(p("fifo").c_str(), S_IFIFO | 0644, 0)));
  NoteStat(t, "stat fifo", p("fifo"));
  t.Call("mknod fifo again", Sys(::mknod(p("fifo").c_str(), S_IFIFO | 0644, 0)));
  t.Call("mkfifo missing/fifo", Sys(::mkfifo(p("missing/fifo").c_str(), 0644)));
  int reader = t.Fd("open fifo O_RDONLY|O_NONBLOCK", Sys(::open(p("fifo").c_str(), O_RDONLY | O_NONBLOCK)));
  int writer = t.Fd("open fifo O_WRONLY|O_NONBLOCK", Sys(::open(p("fifo").c_str(), O_WRONLY | O_NONBLOCK)));
  t.Call("write fifo", Sys(::write(writer, "through the pipe", 16)));
  char buffer[32] = {};
  t.Call("read fifo", Sys(::read(reader, buffer, sizeof buffer)));
  t.Note("read fifo got", buffer);
  ::close(writer);
  ::close(reader);
  NoteStat(t, "stat fifo after use", p("fifo"));
  t.Call("mknod chr 1,3", Sys(::mknod(p("chr").c_str(), S_IFCHR | 0600, makedev(1, 3))));
  NoteStat(t, "stat chr", p("chr"));
  t.Call("mknod blk 7,0", Sys(::mknod(p("blk").c_str(), S_IFBLK | 0600, makedev(7, 0))));
  NoteStat(t, "stat blk", p("blk"));
  t.Call("mknod sock", Sys(::mknod(p("sock").c_str(), S_IFSOCK | 0644, 0)));
  NoteStat(t, "stat sock", p("sock"));
  t.Call("mknod reg", Sys(::mknod(p("reg").c_str(), S_IFREG | 0640, 0)));
  NoteStat(t, "stat reg", p("reg"));
  t.Call("mknod bad type", Sys(::mknod(p("bad").c_str(), 0170000 | 0644, 0)));
  t.Call("chmod fifo 0600", Sys(::chmod(p("fifo").c_str(), 0600)));
  t.Call("chown fifo 1234:5678", Sys(::chown(p("fifo").c_str(), 1234, 5678)));
  NoteStat(t, "stat fifo", p("fifo"));
  t.Call("rename fifo fifo2", Sys(::rename(p("fifo").c_str(), p("fifo2").c_str())));
  t.Call("link chr chr2", Sys(::link(p("chr").c_str(), p("chr2").c_str())));
  NoteStat(t, "stat chr2", p("chr2"));
  NoteListing(t, "listing", root);
  for (const char* name : {"fifo2", "chr", "chr2", "blk", "sock", "reg"})
    t.Call(std::string("unlink ") + name, Sys(::unlink(p(name).c_str())));
}

void Symlinks(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  const std::string outside = Parent(root) + "/outside";
  char buffer[8192];
  auto note_readlink = [&](const std::string& what, const std::string& path, size_t size) {
    ssize_t n = ::readlink(path.c_str(), buffer, size);
    t.Call(what, Sys(n));
    if (n >= 0) t.Note(what + " got", std::string(buffer, n));
  };
  MakeFile(t, p("target"), "content");
  t.Call("symlink target <- l", Sys(::symlink("target", p("l").c_str())));
  note_readlink("readlink l", p("l"), sizeof buffer);
  note_readlink("readlink l into 3 bytes", p("l"), 3);
  NoteStat(t, "lstat l", p("l"), /*follow=*/false);
  NoteStat(t, "stat l", p("l"));
  NoteContent(t, "content through l", p("l"));
  t.Call("symlink again", Sys(::symlink("other", p("l").c_str())));
  t.Call("symlink empty target", Sys(::symlink("", p("empty").c_str())));
  t.Call("readlink target (not a link)", Sys(::readlink(p("target").c_str(), buffer, sizeof buffer)));
  t.Call("readlink missing", Sys(::readlink(p("missing").c_str(), buffer, sizeof buffer)));

  t.Call("symlink nowhere <- dangling", Sys(::symlink("nowhere", p("dangling").c_str())));
  note_readlink("readlink dangling", p("dangling"), sizeof buffer);
  NoteStat(t, "lstat dangling", p("dangling"), /*follow=*/false);
  NoteStat(t, "stat dangling", p("dangling"));
  t.Fd("open dangling", Sys(::open(p("dangling").c_str(), O_RDONLY)));

  t.Call("symlink /outside <- abs", Sys(::symlink(outside.c_str(), p("abs").c_str())));
  note_readlink("readlink abs", p("abs"), sizeof buffer);
  NoteStat(t, "stat abs", p("abs"));
  NoteContent(t, "content through abs", p("abs"));
  t.Call("symlink / <- slash", Sys(::symlink("/", p("slash").c_str())));
  NoteStat(t, "stat slash/.", p("slash/."));
  EXPECT_EQ(InoOf(p("slash/.")), InoOf("/"));

  // Changing the link itself must leave what it points to alone, above all outside the volume.
  t.Call("lchown abs 1234:5678", Sys(::lchown(p("abs").c_str(), 1234, 5678)));
  NoteStat(t, "lstat abs", p("abs"), /*follow=*/false);
  NoteStat(t, "stat outside", outside);
  timespec times[2] = {{1'000'000'000, 1}, {1'100'000'000, 2}};
  t.Call("utimensat abs AT_SYMLINK_NOFOLLOW", Sys(::utimensat(AT_FDCWD, p("abs").c_str(), times, AT_SYMLINK_NOFOLLOW)));
  NoteTimes(t, "times of abs", p("abs"), /*follow=*/false);
  struct stat outside_st {};
  ::stat(outside.c_str(), &outside_st);
  EXPECT_NE(outside_st.st_mtim.tv_sec, 1'100'000'000) << "utimensat(AT_SYMLINK_NOFOLLOW) reached the link's target";
  t.Call("lsetxattr abs trusted.probe", Sys(::lsetxattr(p("abs").c_str(), "trusted.probe", "x", 1, 0)));
  t.Call("lgetxattr abs trusted.probe", Sys(::lgetxattr(p("abs").c_str(), "trusted.probe", buffer, sizeof buffer)));
  t.Call("getxattr outside trusted.probe", Sys(::getxattr(outside.c_str(), "trusted.probe", buffer, sizeof buffer)));
  EXPECT_LT(::getxattr(outside.c_str(), "trusted.probe", buffer, sizeof buffer), 0)
      << "lsetxattr on a symlink set the attribute on its target outside the volume";
  t.Call("lsetxattr abs user.probe", Sys(::lsetxattr(p("abs").c_str(), "user.probe", "x", 1, 0)));
  t.Call("lremovexattr abs trusted.probe", Sys(::lremovexattr(p("abs").c_str(), "trusted.probe")));

  t.Call("symlink loop-b <- loop-a", Sys(::symlink("loop-b", p("loop-a").c_str())));
  t.Call("symlink loop-a <- loop-b", Sys(::symlink("loop-a", p("loop-b").c_str())));
  NoteStat(t, "stat loop-a", p("loop-a"));

  const std::string long_target(4095, 'x');
  t.Call("symlink 4095-byte target", Sys(::symlink(long_target.c_str(), p("long").c_str())));
  t.Call("readlink long", Sys(::readlink(p("long").c_str(), buffer, sizeof buffer)));
  NoteStat(t, "lstat long", p("long"), /*follow=*/false);
  const std::string too_long(4096, 'x');
  t.Call("symlink 4096-byte target", Sys(::symlink(too_long.c_str(), p("too-long").c_str())));

  t.Call("mkdir d", Sys(::mkdir(p("d").c_str(), 0755)));
  t.Call("symlink d <- dl", Sys(::symlink("d", p("dl").c_str())));
  MakeFile(t, p("dl/inside"), "via a link to a directory");
  NoteListing(t, "listing d", p("d"));
  t.Call("rmdir dl", Sys(::rmdir(p("dl").c_str())));
  t.Call("unlink dl", Sys(::unlink(p("dl").c_str())));
  t.Call("unlink l", Sys(::unlink(p("l").c_str())));
  NoteContent(t, "content target", p("target"));
  NoteListing(t, "listing", root);
}

void HardLinks(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  MakeFile(t, p("a"), "data");
  t.Call("link a b", Sys(::link(p("a").c_str(), p("b").c_str())));
  NoteStat(t, "stat a", p("a"));
  NoteStat(t, "stat b", p("b"));
  EXPECT_EQ(InoOf(p("a")), InoOf(p("b")));
  t.Call("link a b again", Sys(::link(p("a").c_str(), p("b").c_str())));
  t.Call("link missing c", Sys(::link(p("missing").c_str(), p("c").c_str())));
  t.Call("mkdir sub", Sys(::mkdir(p("sub").c_str(), 0755)));
  t.Call("link sub sub2 (a directory)", Sys(::link(p("sub").c_str(), p("sub2").c_str())));
  t.Call("link a sub/c", Sys(::link(p("a").c_str(), p("sub/c").c_str())));
  NoteStat(t, "stat sub/c", p("sub/c"));
  EXPECT_EQ(InoOf(p("a")), InoOf(p("sub/c")));
  int fd = t.Fd("open b O_APPEND", Sys(::open(p("b").c_str(), O_WRONLY | O_APPEND)));
  t.Call("write +more", Sys(::write(fd, "+more", 5)));
  ::close(fd);
  NoteContent(t, "content a", p("a"));
  NoteContent(t, "content sub/c", p("sub/c"));
  fd = t.Fd("open sub/c", Sys(::open(p("sub/c").c_str(), O_RDONLY)));
  t.Call("unlink a", Sys(::unlink(p("a").c_str())));
  NoteStat(t, "stat b", p("b"));
  NoteFstat(t, "fstat sub/c", fd);
  t.Call("unlink sub/c", Sys(::unlink(p("sub/c").c_str())));
  NoteStat(t, "stat b", p("b"));
  NoteFstat(t, "fstat of the open sub/c", fd);
  ::close(fd);
  NoteContent(t, "content b", p("b"));
  // link(2) does not follow a symlink: the new name is another link to the symlink itself.
  t.Call("symlink b <- l", Sys(::symlink("b", p("l").c_str())));
  t.Call("link l l2", Sys(::link(p("l").c_str(), p("l2").c_str())));
  NoteStat(t, "lstat l2", p("l2"), /*follow=*/false);
  NoteStat(t, "stat b", p("b"));
  EXPECT_EQ(InoOf(p("l")), InoOf(p("l2")));
  t.Call("linkat l l3 AT_SYMLINK_FOLLOW", Sys(::linkat(AT_FDCWD, p("l").c_str(), AT_FDCWD, p("l3").c_str(), AT_SYMLINK_FOLLOW)));
  NoteStat(t, "lstat l3", p("l3"), /*follow=*/false);
  EXPECT_EQ(InoOf(p("l3")), InoOf(p("b")));
  NoteListing(t, "listing", root);
}

void NameLimitsAndOddBytes(const std::string& root, Trace& t) {
  auto p = [&](const std::string& name) { return root + "/" + name; };
  const std::string name255(255, 'n'), name256(256, 'n');
  int fd = t.Fd("create 255-byte name", Sys(::open(p(name255).c_str(), O_CREAT | O_WRONLY, 0644)));
  if (fd >= 0) ::close(fd);
  NoteStat(t, "stat 255-byte name", p(name255));
  t.Fd("create 256-byte name", Sys(::open(p(name256).c_str(), O_CREAT | O_WRONLY, 0644)));
  NoteStat(t, "stat 256-byte name", p(name256));
  t.Call("mkdir 256-byte name", Sys(::mkdir(p(name256).c_str(), 0755)));
  t.Call("symlink to 256-byte name", Sys(::symlink("x", p(name256).c_str())));
  t.Call("link to 256-byte name", Sys(::link(p(name255).c_str(), p(name256).c_str())));
  t.Call("rename to 256-byte name", Sys(::rename(p(name255).c_str(), p(name256).c_str())));
  t.Call("mknod 256-byte name", Sys(::mknod(p(name256).c_str(), S_IFIFO | 0644, 0)));
  const std::string dir255(255, 'd');
  t.Call("mkdir 255-byte name", Sys(::mkdir(p(dir255).c_str(), 0755)));
  t.Call("rename 255 to 255", Sys(::rename(p(name255).c_str(), p(dir255 + "/" + name255).c_str())));
  NoteStat(t, "stat moved", p(dir255 + "/" + name255));

  // Names are bytes, not text: none of these is valid UTF-8 or printable, all are valid names.
  const std::vector<std::string> odd = {"\xff\xfe", "caf\xe9", "\xc3\x28", "\xed\xa0\x80", "a\x01" "b",
                                        "tab\there", "new\nline", " lead", "trail ", "-dash", "*?[", "back\\slash"};
  for (const auto& name : odd) {
    fd = t.Fd("create " + name, Sys(::open(p(name).c_str(), O_CREAT | O_WRONLY, 0644)));
    if (fd >= 0) {
      t.Call("write " + name, Sys(::write(fd, name.data(), name.size())));
      ::close(fd);
    }
  }
  auto listed = NoteListing(t, "listing", root);
  for (const auto& name : odd) {
    EXPECT_TRUE(std::find(listed.begin(), listed.end(), name) != listed.end()) << "missing from readdir: " << Escape(name);
    NoteContent(t, "content " + name, p(name));
  }
  t.Call("rename \\xff\\xfe to \\xfe\\xff", Sys(::rename(p("\xff\xfe").c_str(), p("\xfe\xff").c_str())));
  t.Call("mkdir \\x80", Sys(::mkdir(p("\x80").c_str(), 0755)));
  t.Call("link caf\\xe9 into \\x80", Sys(::link(p("caf\xe9").c_str(), p("\x80/\xe9t\xe9").c_str())));
  t.Call("symlink \\xff\\x80 <- \\x81", Sys(::symlink("\xff\x80", p("\x81").c_str())));
  char buffer[64];
  ssize_t n = ::readlink(p("\x81").c_str(), buffer, sizeof buffer);
  t.Note("readlink \\x81", n < 0 ? "-1 " + ErrnoName(errno) : std::string(buffer, n));
  t.Call("setxattr user.\\xff\\xfe", Sys(::setxattr(p("caf\xe9").c_str(), "user.\xff\xfe", "\xff", 1, 0)));
  n = ::listxattr(p("caf\xe9").c_str(), buffer, sizeof buffer);
  t.Note("listxattr", n < 0 ? "-1 " + ErrnoName(errno) : std::string(buffer, n));
  NoteListing(t, "listing \\x80", p("\x80"));
  NoteListing(t, "listing", root);
}

void DotDot(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  t.Call("mkdir a", Sys(::mkdir(p("a").c_str(), 0755)));
  t.Call("mkdir a/b", Sys(::mkdir(p("a/b").c_str(), 0755)));
  MakeFile(t, p("a/f"), "in a");
  NoteContent(t, "content a/b/../f", p("a/b/../f"));
  NoteContent(t, "content a/./b/.././f", p("a/./b/.././f"));
  EXPECT_EQ(InoOf(p("a/b/..")), InoOf(p("a")));
  EXPECT_EQ(InoOf(p("a/b/../..")), InoOf(root));
  // ".." of the root leaves the volume, to the directory the root hangs from.
  EXPECT_EQ(InoOf(root + "/.."), InoOf(Parent(root)));
  EXPECT_EQ(InoOf(p("a/b/../../..")), InoOf(Parent(root)));
  NoteStat(t, "stat a/f/..", p("a/f/.."));
  t.Fd("open a/f/..", Sys(::open(p("a/f/..").c_str(), O_RDONLY)));
  t.Call("mkdir a/b/..", Sys(::mkdir(p("a/b/..").c_str(), 0755)));
  t.Call("rmdir a/b/..", Sys(::rmdir(p("a/b/..").c_str())));
  t.Call("rename a/b/.. x", Sys(::rename(p("a/b/..").c_str(), p("x").c_str())));
  t.Call("rename a/b/. x", Sys(::rename(p("a/b/.").c_str(), p("x").c_str())));
  t.Call("unlink a/..", Sys(::unlink(p("a/..").c_str())));

  // readdir's "." and ".." name the directory and its parent.
  DIR* dir = ::opendir(p("a/b").c_str());
  std::map<std::string, ino_t> dots;
  if (dir != nullptr) {
    while (struct dirent* entry = ::readdir(dir)) dots[entry->d_name] = entry->d_ino;
    ::closedir(dir);
  }
  t.Note("entries of a/b", static_cast<int64_t>(dots.size()));
  EXPECT_EQ(dots["."], InoOf(p("a/b")));
  EXPECT_EQ(dots[".."], InoOf(p("a")));

  // Relative lookups from an open directory, before and after it moves.
  int fd = t.Fd("open a/b", Sys(::open(p("a/b").c_str(), O_RDONLY | O_DIRECTORY)));
  int f = t.Fd("openat a/b ../f", Sys(::openat(fd, "../f", O_RDONLY)));
  if (f >= 0) ::close(f);
  t.Call("mkdir c", Sys(::mkdir(p("c").c_str(), 0755)));
  t.Call("rename a/b c/b", Sys(::rename(p("a/b").c_str(), p("c/b").c_str())));
  f = t.Fd("openat moved b ../f", Sys(::openat(fd, "../f", O_RDONLY)));
  if (f >= 0) ::close(f);
  struct stat up {};
  t.Call("fstatat moved b ..", Sys(::fstatat(fd, "..", &up, 0)));
  EXPECT_EQ(up.st_ino, InoOf(p("c"))) << "'..' of a moved directory is its new parent";
  EXPECT_EQ(InoOf(p("c/b/..")), InoOf(p("c")));
  ::close(fd);
  NoteStat(t, "stat a (b moved out)", p("a"));
  NoteStat(t, "stat c (b moved in)", p("c"));
}

// getdents64 straight from the kernel, so that the directory can change between two calls.
std::vector<std::string> ReadSomeEntries(int fd, size_t buffer_bytes) {
  std::vector<char> buffer(buffer_bytes);
  long n = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
  std::vector<std::string> names;
  for (long at = 0; at < n;) {
    auto* entry = reinterpret_cast<struct dirent64*>(buffer.data() + at);
    names.emplace_back(entry->d_name);
    at += entry->d_reclen;
  }
  if (n < 0) names.push_back("<error " + ErrnoName(errno) + ">");
  return names;
}

// POSIX: entries added or removed while a directory is read may or may not be returned; every
// other entry is returned exactly once.
void ReaddirWhileTheDirectoryChanges(const std::string& root, Trace& t) {
  const std::string dir = root + "/d";
  t.Call("mkdir d", Sys(::mkdir(dir.c_str(), 0755)));
  constexpr int kStable = 300, kDoomed = 120;
  auto name_of = [](const char* kind, int i) {
    char text[64];
    std::snprintf(text, sizeof text, "%s-%04d-padding-to-make-the-entries-longer", kind, i);
    return std::string(text);
  };
  int failures = 0;
  for (int i = 0; i < kStable; ++i) {
    int fd = ::open((dir + "/" + name_of("stable", i)).c_str(), O_CREAT | O_WRONLY, 0644);
    failures += fd < 0;
    ::close(fd);
  }
  for (int i = 0; i < kDoomed; ++i) {
    int fd = ::open((dir + "/" + name_of("doomed", i)).c_str(), O_CREAT | O_WRONLY, 0644);
    failures += fd < 0;
    ::close(fd);
  }
  t.Note("files that could not be created", failures);

  int fd = t.Fd("open d", Sys(::open(dir.c_str(), O_RDONLY | O_DIRECTORY)));
  std::map<std::string, int> seen;
  int batches = 0, created = 0, removed = 0;
  for (;;) {
    auto names = ReadSomeEntries(fd, 1024);
    if (names.empty()) break;
    ++batches;
    for (const auto& name : names) ++seen[name];
    // Between two reads: one new entry, one entry gone.
    int cfd = ::open((dir + "/" + name_of("new", created++)).c_str(), O_CREAT | O_WRONLY, 0644);
    ::close(cfd);
    if (removed < kDoomed) ::unlink((dir + "/" + name_of("doomed", removed++)).c_str());
    if (batches > 10000) break;  // a listing that never ends is reported below
  }
  ::close(fd);
  EXPECT_GT(batches, 10) << "the listing should have been read in many small pieces";
  int missing = 0, duplicated = 0;
  for (int i = 0; i < kStable; ++i) missing += seen.count(name_of("stable", i)) == 0;
  for (const auto& [name, count] : seen) {
    if (count > 1) {
      ++duplicated;
      ADD_FAILURE() << "returned " << count << " times: " << Escape(name);
    }
  }
  EXPECT_EQ(missing, 0) << "stable entries not returned";
  t.Note("stable entries missing", missing);
  t.Note("entries returned more than once", duplicated);
  t.Note("'.' returned", seen["."]);
  t.Note("'..' returned", seen[".."]);
  t.Note("listing ended", batches <= 10000 ? "yes" : "no");
  // How many batches the listing took depends on which new entries it met (either is right), and
  // so does what the loop created and removed: the listing now must be exactly that.
  std::vector<std::string> expected_after = {".", ".."};
  for (int i = 0; i < kStable; ++i) expected_after.push_back(name_of("stable", i));
  for (int i = removed; i < kDoomed; ++i) expected_after.push_back(name_of("doomed", i));
  for (int i = 0; i < created; ++i) expected_after.push_back(name_of("new", i));
  std::vector<std::string> after;
  if (DIR* listing = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(listing)) after.emplace_back(e->d_name);
    ::closedir(listing);
  }
  std::sort(after.begin(), after.end());
  std::sort(expected_after.begin(), expected_after.end());
  EXPECT_EQ(after, expected_after);
  t.Note("listing after is what the loop left", after == expected_after ? "yes" : "no");

  // telldir/seekdir come back to the same place.
  DIR* d = ::opendir(dir.c_str());
  for (int i = 0; i < 50 && ::readdir(d) != nullptr; ++i) {
  }
  long mark = ::telldir(d);
  std::vector<std::string> first, again;
  for (int i = 0; i < 20; ++i)
    if (struct dirent* e = ::readdir(d)) first.emplace_back(e->d_name);
  ::seekdir(d, mark);
  for (int i = 0; i < 20; ++i)
    if (struct dirent* e = ::readdir(d)) again.emplace_back(e->d_name);
  ::rewinddir(d);
  int total = 0;
  while (::readdir(d) != nullptr) ++total;
  ::closedir(d);
  EXPECT_EQ(first, again) << "seekdir(telldir()) must return to the same entry";
  t.Note("seekdir returns to the same entries", first == again && first.size() == 20 ? "yes" : "no");
  t.Note("entries after rewinddir", total);
}

TEST_P(PosixNames, MkdirRmdirUnlink) { ExpectSameOnBoth(MkdirRmdirUnlink); }
TEST_P(PosixNames, NamesInADirectoryMadeHere) { ExpectSameOnBoth(NamesInADirectoryMadeHere); }
TEST_P(PosixNames, RootDirectoryCountsOnlyVisibleSubdirectories) {
  ExpectSameOnBoth(RootDirectoryCountsOnlyVisibleSubdirectories);
}
TEST_P(PosixNames, SpecialFiles) { ExpectSameOnBoth(SpecialFiles); }
TEST_P(PosixNames, Symlinks) { ExpectSameOnBoth(Symlinks); }
TEST_P(PosixNames, HardLinks) { ExpectSameOnBoth(HardLinks); }
TEST_P(PosixNames, NameLimitsAndOddBytes) { ExpectSameOnBoth(NameLimitsAndOddBytes); }
TEST_P(PosixNames, DotDot) { ExpectSameOnBoth(DotDot); }
TEST_P(PosixNames, ReaddirWhileTheDirectoryChanges) { ExpectSameOnBoth(ReaddirWhileTheDirectoryChanges); }

}  // namespace
}  // namespace shoal::testing::posix

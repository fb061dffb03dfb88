// rename(2) and renameat2(2): replacing files and directories, the errors, and the
// RENAME_NOREPLACE and RENAME_EXCHANGE flags (called through syscall(2), as the brief for this
// suite asks, so that no libc emulation stands between the test and the kernel).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>  // RENAME_NOREPLACE, RENAME_EXCHANGE
#include <string>

#include "tests/posix/posix_test.h"

namespace shoal::testing::posix {
namespace {

class PosixRename : public PosixTest {};
INSTANTIATE_TEST_SUITE_P(Backing, PosixRename, kBackings, BackingName);

ino_t InoOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

Outcome Renameat2(const std::string& from, const std::string& to, unsigned flags) {
  return Sys(::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags));
}

void RenameFiles(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  MakeFile(t, p("a"), "A");
  MakeFile(t, p("b"), "B");
  const ino_t a = InoOf(p("a"));
  t.Call("rename a b (over a file)", Sys(::rename(p("a").c_str(), p("b").c_str())));
  NoteStat(t, "stat a", p("a"));
  NoteStat(t, "stat b", p("b"));
  NoteContent(t, "content b", p("b"));
  EXPECT_EQ(InoOf(p("b")), a) << "a rename keeps the inode";
  t.Call("rename b b (to itself)", Sys(::rename(p("b").c_str(), p("b").c_str())));
  NoteContent(t, "content b", p("b"));
  t.Call("rename missing x", Sys(::rename(p("missing").c_str(), p("x").c_str())));
  t.Call("rename b missing/x", Sys(::rename(p("b").c_str(), p("missing/x").c_str())));
  t.Call("rename b b/x", Sys(::rename(p("b").c_str(), p("b/x").c_str())));
  t.Call("rename b ''", Sys(::rename(p("b").c_str(), "")));

  // An open file follows its inode through renames.
  int fd = t.Fd("open b", Sys(::open(p("b").c_str(), O_RDWR)));
  t.Call("mkdir sub", Sys(::mkdir(p("sub").c_str(), 0755)));
  t.Call("rename b sub/c", Sys(::rename(p("b").c_str(), p("sub/c").c_str())));
  struct stat st = NoteFstat(t, "fstat the open file", fd);
  EXPECT_EQ(st.st_ino, a);
  t.Call("pwrite", Sys(::pwrite(fd, "moved", 5, 1)));
  ::close(fd);
  NoteContent(t, "content sub/c", p("sub/c"));

  // Two names of one inode: rename does nothing and both stay.
  t.Call("link sub/c sub/d", Sys(::link(p("sub/c").c_str(), p("sub/d").c_str())));
  t.Call("rename sub/c sub/d (same inode)", Sys(::rename(p("sub/c").c_str(), p("sub/d").c_str())));
  NoteListing(t, "listing sub", p("sub"));
  NoteStat(t, "stat sub/d", p("sub/d"));

  // A file replaced by a rename stays readable through a descriptor opened before.
  MakeFile(t, p("old"), "old content");
  MakeFile(t, p("new"), "new content");
  int reader = t.Fd("open old O_RDONLY", Sys(::open(p("old").c_str(), O_RDONLY)));
  int writer = t.Fd("open old O_RDWR", Sys(::open(p("old").c_str(), O_RDWR)));
  t.Call("rename new old", Sys(::rename(p("new").c_str(), p("old").c_str())));
  NotePread(t, "pread the replaced file (read-only descriptor)", reader, 64, 0);
  NotePread(t, "pread the replaced file (read-write descriptor)", writer, 64, 0);
  NoteFstat(t, "fstat the replaced file", reader);
  ::close(reader);
  ::close(writer);
  NoteContent(t, "content old", p("old"));
  NoteListing(t, "listing", root);
}

void RenameDirectories(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  t.Call("mkdir d1", Sys(::mkdir(p("d1").c_str(), 0755)));
  t.Call("mkdir d2", Sys(::mkdir(p("d2").c_str(), 0755)));
  MakeFile(t, p("d1/f"), "in d1");
  const ino_t d1 = InoOf(p("d1"));
  t.Call("rename d1 d2 (over an empty directory)", Sys(::rename(p("d1").c_str(), p("d2").c_str())));
  NoteContent(t, "content d2/f", p("d2/f"));
  NoteStat(t, "stat d1", p("d1"));
  EXPECT_EQ(InoOf(p("d2")), d1);
  t.Call("mkdir d3", Sys(::mkdir(p("d3").c_str(), 0755)));
  MakeFile(t, p("d3/g"), "in d3");
  t.Call("rename d2 d3 (over a non-empty directory)", Sys(::rename(p("d2").c_str(), p("d3").c_str())));
  MakeFile(t, p("f"), "a file");
  t.Call("rename f d3 (file over directory)", Sys(::rename(p("f").c_str(), p("d3").c_str())));
  t.Call("rename d3 f (directory over file)", Sys(::rename(p("d3").c_str(), p("f").c_str())));
  t.Call("mkdir d3/sub", Sys(::mkdir(p("d3/sub").c_str(), 0755)));
  t.Call("rename d3 d3/sub (into its own subdirectory)", Sys(::rename(p("d3").c_str(), p("d3/sub").c_str())));
  t.Call("rename d3 d3/sub/new", Sys(::rename(p("d3").c_str(), p("d3/sub/new").c_str())));
  t.Call("rename d3/sub d3/sub/x", Sys(::rename(p("d3/sub").c_str(), p("d3/sub/x").c_str())));
  t.Call("rename d3/sub/.. x", Sys(::rename(p("d3/sub/..").c_str(), p("x").c_str())));
  t.Call("rename d3 d3/sub/.. (its own name)", Sys(::rename(p("d3").c_str(), p("d3/sub/..").c_str())));

  // Moving a directory between parents: link counts and "..".
  t.Call("mkdir p", Sys(::mkdir(p("p").c_str(), 0755)));
  t.Call("mkdir p/q", Sys(::mkdir(p("p/q").c_str(), 0755)));
  t.Call("mkdir r", Sys(::mkdir(p("r").c_str(), 0755)));
  MakeFile(t, p("p/q/file"), "deep");
  int fd = t.Fd("open p/q/file", Sys(::open(p("p/q/file").c_str(), O_RDWR)));
  t.Call("rename p/q r/q", Sys(::rename(p("p/q").c_str(), p("r/q").c_str())));
  NoteStat(t, "stat p", p("p"));
  NoteStat(t, "stat r", p("r"));
  EXPECT_EQ(InoOf(p("r/q/..")), InoOf(p("r")));
  t.Call("pwrite through the descriptor", Sys(::pwrite(fd, "DEEP", 4, 0)));
  ::close(fd);
  NoteContent(t, "content r/q/file", p("r/q/file"));
  NoteListing(t, "listing", root);
}

void RenameFlags(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  MakeFile(t, p("a"), "A");
  MakeFile(t, p("b"), "B");
  t.Call("renameat2 a b NOREPLACE", Renameat2(p("a"), p("b"), RENAME_NOREPLACE));
  NoteContent(t, "content a", p("a"));
  NoteContent(t, "content b", p("b"));
  t.Call("renameat2 a c NOREPLACE", Renameat2(p("a"), p("c"), RENAME_NOREPLACE));
  NoteContent(t, "content c", p("c"));
  t.Call("mkdir d", Sys(::mkdir(p("d").c_str(), 0755)));
  t.Call("renameat2 c d NOREPLACE", Renameat2(p("c"), p("d"), RENAME_NOREPLACE));

  MakeFile(t, p("d/inner"), "inside d");
  const ino_t c = InoOf(p("c")), d = InoOf(p("d"));
  t.Call("renameat2 c d EXCHANGE (file and directory)", Renameat2(p("c"), p("d"), RENAME_EXCHANGE));
  NoteStat(t, "stat c", p("c"));
  NoteStat(t, "stat d", p("d"));
  NoteContent(t, "content c/inner", p("c/inner"));
  NoteContent(t, "content d", p("d"));
  EXPECT_EQ(InoOf(p("c")), d);
  EXPECT_EQ(InoOf(p("d")), c);
  t.Call("renameat2 c missing EXCHANGE", Renameat2(p("c"), p("missing"), RENAME_EXCHANGE));
  t.Call("renameat2 c d EXCHANGE|NOREPLACE", Renameat2(p("c"), p("d"), RENAME_EXCHANGE | RENAME_NOREPLACE));
  t.Call("renameat2 c d flags 0x100", Renameat2(p("c"), p("d"), 0x100));

  // Exchanging directories at different depths: each keeps its content, ".." follows.
  t.Call("mkdir x", Sys(::mkdir(p("x").c_str(), 0755)));
  t.Call("mkdir x/y", Sys(::mkdir(p("x/y").c_str(), 0755)));
  MakeFile(t, p("x/y/deep"), "deep");
  t.Call("renameat2 c x/y EXCHANGE", Renameat2(p("c"), p("x/y"), RENAME_EXCHANGE));
  NoteListing(t, "listing c", p("c"));
  NoteListing(t, "listing x/y", p("x/y"));
  EXPECT_EQ(InoOf(p("x/y/..")), InoOf(p("x")));
  EXPECT_EQ(InoOf(p("c/..")), InoOf(root));
  t.Call("renameat2 x x/y EXCHANGE (into its own subdirectory)", Renameat2(p("x"), p("x/y"), RENAME_EXCHANGE));
  NoteStat(t, "stat x", p("x"));
  NoteListing(t, "listing", root);
}

TEST_P(PosixRename, RenameFiles) { ExpectSameOnBoth(RenameFiles); }
TEST_P(PosixRename, RenameDirectories) { ExpectSameOnBoth(RenameDirectories); }
TEST_P(PosixRename, RenameFlags) { ExpectSameOnBoth(RenameFlags); }

}  // namespace
}  // namespace shoal::testing::posix

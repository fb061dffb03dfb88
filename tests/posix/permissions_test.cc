// Permission checks as the kernel makes them for an ordinary user: root prepares files and
// directories, then a child process that has become uid/gid 65534 (nobody/nogroup, no
// supplementary groups) tries to use them.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "tests/posix/posix_test.h"

namespace shoal::testing::posix {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

class PosixPermissions : public PosixTest {};
INSTANTIATE_TEST_SUITE_P(Backing, PosixPermissions, kBackings, BackingName);

void AsAnotherUser(const std::string& root, Trace& t) {
  auto p = [&](const char* name) { return root + "/" + name; };
  // Root's side. Modes are set with chmod, so the umask plays no part.
  MakeFile(t, p("secret"), "root only");
  t.Call("chmod secret 0600", Sys(::chmod(p("secret").c_str(), 0600)));
  MakeFile(t, p("public"), "anyone may read");
  t.Call("mkdir closed", Sys(::mkdir(p("closed").c_str(), 0755)));
  MakeFile(t, p("closed/inside"), "readable, in a directory others cannot write");
  t.Call("mkdir open", Sys(::mkdir(p("open").c_str(), 0755)));
  t.Call("chmod open 0777", Sys(::chmod(p("open").c_str(), 0777)));
  t.Call("mkdir private", Sys(::mkdir(p("private").c_str(), 0755)));
  t.Call("chmod private 0700", Sys(::chmod(p("private").c_str(), 0700)));
  MakeFile(t, p("private/f"), "behind a 0700 directory");
  t.Call("mkdir sticky", Sys(::mkdir(p("sticky").c_str(), 0755)));
  t.Call("chmod sticky 01777", Sys(::chmod(p("sticky").c_str(), 01777)));
  MakeFile(t, p("sticky/roots"), "root's file in a sticky directory");
  t.Call("chmod sticky/roots 0666", Sys(::chmod(p("sticky/roots").c_str(), 0666)));
  t.Call("mkdir group", Sys(::mkdir(p("group").c_str(), 0755)));
  t.Call("chown group 0:4321", Sys(::chown(p("group").c_str(), 0, 4321)));
  t.Call("chmod group 02777", Sys(::chmod(p("group").c_str(), 02777)));
  MakeFile(t, p("setid"), "writable by anyone, set-id bits");
  t.Call("chmod setid 06777", Sys(::chmod(p("setid").c_str(), 06777)));
  MakeFile(t, p("shared"), "writable by anyone");
  t.Call("chmod shared 0666", Sys(::chmod(p("shared").c_str(), 0666)));
  t.Call("mkdir search-only", Sys(::mkdir(p("search-only").c_str(), 0755)));
  MakeFile(t, p("search-only/known"), "found by name");
  t.Call("chmod search-only 0711", Sys(::chmod(p("search-only").c_str(), 0711)));

  RunAs(kNobody, kNogroup, t, [&p](Trace& u) {
    char buffer[64];
    u.Fd("open secret O_RDONLY", Sys(::open(p("secret").c_str(), O_RDONLY)));
    u.Call("access secret R_OK", Sys(::access(p("secret").c_str(), R_OK)));
    NoteStat(u, "stat secret", p("secret"));
    int fd = u.Fd("open public O_RDONLY", Sys(::open(p("public").c_str(), O_RDONLY)));
    u.Call("read public", Sys(::read(fd, buffer, sizeof buffer)));
    ::close(fd);
    u.Fd("open public O_WRONLY", Sys(::open(p("public").c_str(), O_WRONLY)));
    u.Fd("open public O_RDONLY|O_TRUNC", Sys(::open(p("public").c_str(), O_RDONLY | O_TRUNC)));
    u.Call("access public W_OK", Sys(::access(p("public").c_str(), W_OK)));
    u.Call("truncate public", Sys(::truncate(p("public").c_str(), 0)));
    u.Call("chmod secret 0666", Sys(::chmod(p("secret").c_str(), 0666)));
    u.Call("chown public 65534:65534", Sys(::chown(p("public").c_str(), kNobody, kNogroup)));
    timespec times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
    u.Call("utimensat public explicit", Sys(::utimensat(AT_FDCWD, p("public").c_str(), times, 0)));
    u.Call("utimensat public now", Sys(::utimensat(AT_FDCWD, p("public").c_str(), nullptr, 0)));
    u.Call("setxattr public user.x", Sys(::setxattr(p("public").c_str(), "user.x", "x", 1, 0)));
    u.Call("link secret open/hard", Sys(::link(p("secret").c_str(), p("open/hard").c_str())));
    // Anyone who may write a file may set its times to now, but only its owner to other times.
    u.Call("utimensat shared now", Sys(::utimensat(AT_FDCWD, p("shared").c_str(), nullptr, 0)));
    u.Call("utimensat shared explicit", Sys(::utimensat(AT_FDCWD, p("shared").c_str(), times, 0)));
    // A write by someone else than the owner drops the set-user-ID and set-group-ID bits.
    fd = u.Fd("open setid O_WRONLY", Sys(::open(p("setid").c_str(), O_WRONLY)));
    u.Call("write setid", Sys(::write(fd, "changed", 7)));
    NoteFstat(u, "fstat setid after the write", fd);
    ::close(fd);
    NoteStat(u, "stat setid", p("setid"));

    u.Fd("create closed/mine", Sys(::open(p("closed/mine").c_str(), O_CREAT | O_WRONLY, 0644)));
    u.Call("mkdir closed/dir", Sys(::mkdir(p("closed/dir").c_str(), 0755)));
    u.Call("unlink closed/inside", Sys(::unlink(p("closed/inside").c_str())));
    u.Call("rename closed/inside open/taken", Sys(::rename(p("closed/inside").c_str(), p("open/taken").c_str())));
    u.Call("symlink closed/link", Sys(::symlink("x", p("closed/link").c_str())));
    NoteContent(u, "content closed/inside", p("closed/inside"));

    NoteListing(u, "listing private", p("private"));
    NoteStat(u, "stat private/f", p("private/f"));
    u.Fd("open private/f", Sys(::open(p("private/f").c_str(), O_RDONLY)));
    NoteListing(u, "listing search-only", p("search-only"));
    NoteContent(u, "content search-only/known", p("search-only/known"));

    fd = u.Fd("create open/mine", Sys(::open(p("open/mine").c_str(), O_CREAT | O_WRONLY, 0640)));
    u.Call("write", Sys(::write(fd, "mine", 4)));
    NoteFstat(u, "fstat open/mine", fd);
    ::close(fd);
    u.Call("mkdir open/mydir", Sys(::mkdir(p("open/mydir").c_str(), 0750)));
    NoteStat(u, "stat open/mydir", p("open/mydir"));
    u.Call("mkfifo open/myfifo", Sys(::mkfifo(p("open/myfifo").c_str(), 0600)));
    NoteStat(u, "stat open/myfifo", p("open/myfifo"));
    u.Call("symlink open/mylink", Sys(::symlink("mine", p("open/mylink").c_str())));
    NoteStat(u, "lstat open/mylink", p("open/mylink"), /*follow=*/false);
    u.Call("chmod open/mine 0600", Sys(::chmod(p("open/mine").c_str(), 0600)));
    u.Call("chown open/mine 0:0", Sys(::chown(p("open/mine").c_str(), 0, 0)));
    u.Call("chown open/mine -1:4321 (not a member)", Sys(::chown(p("open/mine").c_str(), -1, 4321)));
    u.Call("setxattr open/mine user.x", Sys(::setxattr(p("open/mine").c_str(), "user.x", "x", 1, 0)));
    u.Call("setxattr open/mine trusted.x", Sys(::setxattr(p("open/mine").c_str(), "trusted.x", "x", 1, 0)));
    u.Call("utimensat open/mine explicit", Sys(::utimensat(AT_FDCWD, p("open/mine").c_str(), times, 0)));
    u.Call("rename open/mine open/mine2", Sys(::rename(p("open/mine").c_str(), p("open/mine2").c_str())));
    u.Call("chmod open/mine2 0400", Sys(::chmod(p("open/mine2").c_str(), 0400)));
    u.Fd("open open/mine2 O_WRONLY (own file, 0400)", Sys(::open(p("open/mine2").c_str(), O_WRONLY)));
    u.Call("mknod open/chr", Sys(::mknod(p("open/chr").c_str(), S_IFCHR | 0600, makedev(1, 3))));

    u.Call("unlink sticky/roots", Sys(::unlink(p("sticky/roots").c_str())));
    u.Call("rename sticky/roots sticky/moved", Sys(::rename(p("sticky/roots").c_str(), p("sticky/moved").c_str())));
    fd = u.Fd("open sticky/roots O_WRONLY (0666)", Sys(::open(p("sticky/roots").c_str(), O_WRONLY)));
    if (fd >= 0) ::close(fd);
    fd = u.Fd("create sticky/mine", Sys(::open(p("sticky/mine").c_str(), O_CREAT | O_WRONLY, 0644)));
    if (fd >= 0) ::close(fd);
    u.Call("rename sticky/mine sticky/mine2", Sys(::rename(p("sticky/mine").c_str(), p("sticky/mine2").c_str())));
    u.Call("unlink sticky/mine2", Sys(::unlink(p("sticky/mine2").c_str())));

    fd = u.Fd("create group/g", Sys(::open(p("group/g").c_str(), O_CREAT | O_WRONLY, 02755)));
    NoteFstat(u, "fstat group/g", fd);
    if (fd >= 0) ::close(fd);
    u.Call("mkdir group/d", Sys(::mkdir(p("group/d").c_str(), 0755)));
    NoteStat(u, "stat group/d", p("group/d"));
  });

  // Root's side again: what the other user left behind, and what it could not touch.
  NoteListing(t, "listing open", p("open"));
  NoteStat(t, "stat open/mine2", p("open/mine2"));
  NoteStat(t, "stat sticky/roots", p("sticky/roots"));
  NoteListing(t, "listing sticky", p("sticky"));
  NoteContent(t, "content public", p("public"));
  NoteStat(t, "stat secret", p("secret"));
  NoteListing(t, "listing closed", p("closed"));
  // Root may do what the other user may not.
  t.Call("unlink sticky/roots as root", Sys(::unlink(p("sticky/roots").c_str())));
  t.Call("unlink open/mine2 as root", Sys(::unlink(p("open/mine2").c_str())));
  NoteContent(t, "content private/f as root", p("private/f"));
}

// A user keeps what it already opened: permissions are checked at open, not at each read.
void OpenDescriptorOutlivesAChmod(const std::string& root, Trace& t) {
  const std::string path = root + "/f";
  MakeFile(t, path, "readable at open time");
  t.Call("chmod 0644", Sys(::chmod(path.c_str(), 0644)));
  t.Call("chmod root 0755", Sys(::chmod(root.c_str(), 0755)));
  Child user(
      [&path](Trace& u, Child::Link& link) {
        int fd = u.Fd("open O_RDONLY", Sys(::open(path.c_str(), O_RDONLY)));
        link.Send('o');
        link.Receive();  // root has made the file 0600 meanwhile
        char buffer[64] = {};
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        u.Call("read after chmod 0600", Sys(n));
        if (n > 0) u.Note("read got", std::string(buffer, n));
        u.Fd("open again", Sys(::open(path.c_str(), O_RDONLY)));
      },
      kNobody, kNogroup);
  t.Note("user opened", std::string(1, user.Receive()));
  t.Call("chmod 0600", Sys(::chmod(path.c_str(), 0600)));
  user.Send('r');
  user.Wait(t);
}

TEST_P(PosixPermissions, AsAnotherUser) { ExpectSameOnBoth(AsAnotherUser); }
TEST_P(PosixPermissions, OpenDescriptorOutlivesAChmod) { ExpectSameOnBoth(OpenDescriptorOutlivesAChmod); }

}  // namespace
}  // namespace shoal::testing::posix

#include "fuse/directory_attrs.h"

#include <gtest/gtest.h>

namespace shoal::fuse {
namespace {

using namespace std::chrono_literals;
using Clock = DirectoryAttrs::Clock;

proto::Attr DirAttr(uint64_t ino, uint32_t nlink) {
  proto::Attr attr;
  attr.set_ino(ino);
  attr.set_nlink(nlink);
  return attr;
}

std::vector<proto::Attr> Changed(std::initializer_list<proto::Attr> attrs) { return attrs; }

TEST(DirectoryAttrsTest, KeepsTheAnswersAttributesForOneGetattr) {
  DirectoryAttrs attrs;
  const Clock::time_point now = Clock::now();
  auto change = attrs.Begin({7});
  attrs.End(change, Changed({DirAttr(7, 3), DirAttr(9, 2)}), 60, now);
  auto kept = attrs.Take(7, now + 1s);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->attr.nlink(), 3u);
  EXPECT_NEAR(kept->ttl_s, 59, 0.01);
  EXPECT_FALSE(attrs.Take(7, now + 1s).has_value()) << "given out once";
  EXPECT_FALSE(attrs.Take(9, now).has_value()) << "not a directory the change was begun for";
}

TEST(DirectoryAttrsTest, KeepsNothingPastItsTimeOrWithoutOne) {
  DirectoryAttrs attrs;
  const Clock::time_point now = Clock::now();
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 3)}), 2, now);
  EXPECT_FALSE(attrs.Take(7, now + 2s).has_value());
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 3)}), 0, now);
  EXPECT_FALSE(attrs.Take(7, now).has_value()) << "an answer that may not be cached";
}

TEST(DirectoryAttrsTest, TwoChangesInFlightKeepNothing) {
  DirectoryAttrs attrs;
  auto first = attrs.Begin({7});
  auto second = attrs.Begin({7});
  // The later change's answer may come first; neither can tell which is newer.
  attrs.End(second, Changed({DirAttr(7, 4)}), 60);
  attrs.End(first, Changed({DirAttr(7, 3)}), 60);
  EXPECT_FALSE(attrs.Take(7).has_value());
  // Once both are answered, the next change alone is kept again.
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 5)}), 60);
  ASSERT_TRUE(attrs.Take(7).has_value());
}

TEST(DirectoryAttrsTest, BeginDropsWhatWasKept) {
  DirectoryAttrs attrs;
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 3)}), 60);
  auto change = attrs.Begin({7});  // e.g. a chmod of the directory, answered without its attributes
  EXPECT_FALSE(attrs.Take(7).has_value());
  attrs.End(change, Changed({}), 60);
  EXPECT_FALSE(attrs.Take(7).has_value());
}

TEST(DirectoryAttrsTest, ForgetDropsTheEntryAndWhatChangesInFlightBring) {
  DirectoryAttrs attrs;
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 3)}), 60);
  attrs.Forget(7);
  EXPECT_FALSE(attrs.Take(7).has_value());
  auto change = attrs.Begin({7});
  attrs.Forget(7);  // another client changed it while this change was on its way
  attrs.End(change, Changed({DirAttr(7, 4)}), 60);
  EXPECT_FALSE(attrs.Take(7).has_value());
}

TEST(DirectoryAttrsTest, ClearDropsEverythingAndWhatChangesInFlightBring) {
  DirectoryAttrs attrs;
  attrs.End(attrs.Begin({7}), Changed({DirAttr(7, 3)}), 60);
  auto change = attrs.Begin({8});
  attrs.Clear();
  attrs.End(change, Changed({DirAttr(8, 2)}), 60);
  EXPECT_FALSE(attrs.Take(7).has_value());
  EXPECT_FALSE(attrs.Take(8).has_value());
  attrs.End(attrs.Begin({8}), Changed({DirAttr(8, 2)}), 60);
  EXPECT_TRUE(attrs.Take(8).has_value()) << "changes begun after the clear are kept";
}

TEST(DirectoryAttrsTest, ARenameBetweenTwoDirectoriesKeepsBoth) {
  DirectoryAttrs attrs;
  attrs.End(attrs.Begin({7, 8}), Changed({DirAttr(8, 2), DirAttr(7, 3)}), 60);
  EXPECT_EQ(attrs.Take(7)->attr.nlink(), 3u);
  EXPECT_EQ(attrs.Take(8)->attr.nlink(), 2u);
  attrs.End(attrs.Begin({7, 7}), Changed({DirAttr(7, 3)}), 60);  // within one directory
  EXPECT_TRUE(attrs.Take(7).has_value());
}

}  // namespace
}  // namespace shoal::fuse

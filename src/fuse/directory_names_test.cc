#include "fuse/directory_names.h"

#include <gtest/gtest.h>

namespace shoal::fuse {
namespace {

TEST(DirectoryNamesTest, KnowsOnlyDirectoriesItMade) {
  DirectoryNames names;
  EXPECT_FALSE(names.Absent(7, "x")) << "a directory it did not make: ask the server";
  names.Made(7, names.epoch());
  EXPECT_TRUE(names.Absent(7, "x"));
  EXPECT_FALSE(names.Absent(8, "x"));
}

TEST(DirectoryNamesTest, ANameIsThereFromItsChangeBeingSentUntilItsRemovalSucceeded) {
  DirectoryNames names;
  names.Made(7, names.epoch());
  names.Adding(7, "x");
  EXPECT_FALSE(names.Absent(7, "x"));
  names.Adding(8, "x");  // not a directory it knows: nothing to do
  names.Removed(7, "x");
  EXPECT_TRUE(names.Absent(7, "x"));
}

TEST(DirectoryNamesTest, ForgetAndClearDropSets) {
  DirectoryNames names;
  names.Made(7, names.epoch());
  names.Made(8, names.epoch());
  names.Forget(7);
  EXPECT_FALSE(names.Absent(7, "x"));
  EXPECT_TRUE(names.Absent(8, "x"));
  names.Clear();
  EXPECT_FALSE(names.Absent(8, "x"));
}

TEST(DirectoryNamesTest, AMkdirSentBeforeAClearMakesNoSet) {
  DirectoryNames names;
  const uint64_t epoch = names.epoch();
  names.Clear();  // the lease lapsed while the mkdir was on its way
  names.Made(7, epoch);
  EXPECT_FALSE(names.Absent(7, "x"));
  names.Made(7, names.epoch());
  EXPECT_TRUE(names.Absent(7, "x"));
}

TEST(DirectoryNamesTest, TooManyNamesForgetsEverything) {
  DirectoryNames names;
  names.Made(7, names.epoch());
  for (size_t i = 0; i < DirectoryNames::kNamesMax; ++i) names.Adding(7, std::to_string(i));
  EXPECT_TRUE(names.Absent(7, "x"));
  names.Adding(7, "one more");
  EXPECT_FALSE(names.Absent(7, "x"));
}

}  // namespace
}  // namespace shoal::fuse

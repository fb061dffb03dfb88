#include "common/status.h"

#include <cerrno>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shoal {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Row {
  Code code;
  uint32_t wire;
  int err;
  std::string_view name;
};

// The table as the header declares it, so every row is checked against the functions.
const std::vector<Row> kRows = {
#define SHOAL_TEST_ROW(name, wire, err) {Code::name, wire, err, #name},
    SHOAL_STATUS_CODES(SHOAL_TEST_ROW)
#undef SHOAL_TEST_ROW
};

// ---- the code table ----

TEST(StatusTableTest, EveryCodeRoundTripsThroughItsWireNumber) {
  for (const Row& row : kRows) {
    EXPECT_EQ(static_cast<uint32_t>(row.code), row.wire) << row.name;
    EXPECT_EQ(CodeFromWire(row.wire), row.code) << row.name;
  }
}

TEST(StatusTableTest, WireNumbersAreDenseFromZero) {
  for (size_t i = 0; i < kRows.size(); ++i) EXPECT_EQ(kRows[i].wire, i) << kRows[i].name;
}

TEST(StatusTableTest, EveryCodeHasItsTableErrno) {
  for (const Row& row : kRows) EXPECT_EQ(ErrnoFromCode(row.code), row.err) << row.name;
}

TEST(StatusTableTest, CodeNameDropsTheLeadingK) {
  for (const Row& row : kRows) EXPECT_EQ(CodeName(row.code), row.name.substr(1)) << row.name;
  EXPECT_EQ(CodeName(Code::kNotFound), "NotFound");
}

TEST(StatusTableTest, UnavailableIsEioAtTheFuseEdge) {
  EXPECT_EQ(ErrnoFromCode(Code::kUnavailable), EIO);
}

TEST(StatusTableTest, OkIsErrnoZero) { EXPECT_EQ(ErrnoFromCode(Code::kOk), 0); }

TEST(StatusTableTest, CommonErrnosMapToTheirCodes) {
  EXPECT_EQ(CodeFromErrno(ENOENT), Code::kNotFound);
  EXPECT_EQ(CodeFromErrno(EEXIST), Code::kExists);
  EXPECT_EQ(CodeFromErrno(ENOTDIR), Code::kNotDirectory);
  EXPECT_EQ(CodeFromErrno(EISDIR), Code::kIsDirectory);
  EXPECT_EQ(CodeFromErrno(ENOTEMPTY), Code::kNotEmpty);
  EXPECT_EQ(CodeFromErrno(EACCES), Code::kPermissionDenied);
  EXPECT_EQ(CodeFromErrno(EPERM), Code::kNotPermitted);
  EXPECT_EQ(CodeFromErrno(EINVAL), Code::kInvalidArgument);
  EXPECT_EQ(CodeFromErrno(ENAMETOOLONG), Code::kNameTooLong);
  EXPECT_EQ(CodeFromErrno(ENOSPC), Code::kNoSpace);
  EXPECT_EQ(CodeFromErrno(EROFS), Code::kReadOnly);
  EXPECT_EQ(CodeFromErrno(ESTALE), Code::kStale);
  EXPECT_EQ(CodeFromErrno(ENODATA), Code::kNoData);
  EXPECT_EQ(CodeFromErrno(ERANGE), Code::kRange);
  EXPECT_EQ(CodeFromErrno(ELOOP), Code::kLoop);
  EXPECT_EQ(CodeFromErrno(EXDEV), Code::kCrossDevice);
  EXPECT_EQ(CodeFromErrno(ETIMEDOUT), Code::kTimedOut);
}

// Two codes share an errno (kIoError/kUnavailable: EIO; kNotFound/kNoVolume: ENOENT): the
// general code is the one an errno comes back as.
TEST(StatusTableTest, SharedErrnoMapsToTheGeneralCode) {
  EXPECT_EQ(CodeFromErrno(EIO), Code::kIoError);
  EXPECT_EQ(CodeFromErrno(ENOENT), Code::kNotFound);
}

TEST(StatusTableTest, ErrnoAliasesMapToOneCode) {
  EXPECT_EQ(CodeFromErrno(EWOULDBLOCK), Code::kWouldBlock);
  EXPECT_EQ(CodeFromErrno(EAGAIN), Code::kWouldBlock);
  EXPECT_EQ(CodeFromErrno(ENOTSUP), Code::kNotSupported);
  EXPECT_EQ(CodeFromErrno(EOPNOTSUPP), Code::kNotSupported);
}

// Every errno the table names comes back to a code with that same errno.
TEST(StatusTableTest, ErrnoRoundTripsThroughItsCode) {
  for (const Row& row : kRows) {
    if (row.err == 0) continue;
    EXPECT_EQ(ErrnoFromCode(CodeFromErrno(row.err)), row.err) << row.name;
  }
}

// ---- unknown input ----

TEST(StatusTableTest, UnknownWireNumberIsIoError) {
  EXPECT_EQ(CodeFromWire(static_cast<uint32_t>(kRows.size())), Code::kIoError);
  EXPECT_EQ(CodeFromWire(9999), Code::kIoError);
  EXPECT_EQ(CodeFromWire(UINT32_MAX), Code::kIoError);
  // A number that only fits after truncation to the enum's 16 bits is still unknown.
  EXPECT_EQ(CodeFromWire(0x10001), Code::kIoError);
}

TEST(StatusTableTest, UnknownErrnoIsIoError) {
  EXPECT_EQ(CodeFromErrno(EHWPOISON), Code::kIoError);
  EXPECT_EQ(CodeFromErrno(-1), Code::kIoError);
}

TEST(StatusTableTest, CodeOutsideTheTableIsEioAndUnknown) {
  const Code unknown = static_cast<Code>(9999);
  EXPECT_EQ(ErrnoFromCode(unknown), EIO);
  EXPECT_EQ(CodeName(unknown), "Unknown");
}

// ---- Status ----

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), Code::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ToStringOfOkIsOk) { EXPECT_EQ(Status::Ok().ToString(), "ok"); }

TEST(StatusTest, ToStringIsCodeNameAndMessage) {
  Status status(Code::kNotFound, "no such brick directory /srv/x");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.ToString(), "NotFound: no such brick directory /srv/x");
}

TEST(StatusTest, ErrnoStatusCarriesCodeWhatAndStrerror) {
  Status status = ErrnoStatus(ENOENT, "opening x");
  EXPECT_EQ(status.code(), Code::kNotFound);
  EXPECT_THAT(status.message(), StartsWith("opening x: "));
  EXPECT_THAT(status.message(), HasSubstr("No such file or directory"));
}

// ---- Result and the propagation macros ----

TEST(ResultTest, HoldsAValue) {
  Result<int> result = 7;
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), 7);
  EXPECT_EQ(*result, 7);
  EXPECT_EQ(result.value_or(3), 7);
}

TEST(ResultTest, HoldsAnError) {
  Result<int> result = Status(Code::kStale, "gone");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kStale);
  EXPECT_EQ(result.status().message(), "gone");
  EXPECT_EQ(result.value_or(3), 3);
}

TEST(ResultTest, MovesTheValueOut) {
  Result<std::string> result = std::string("payload");
  std::string taken = std::move(result).value();
  EXPECT_EQ(taken, "payload");
}

Status FailWith(Code code) { return code == Code::kOk ? Status::Ok() : Status(code, "inner"); }

Status ReturnIfError(Code inner, bool* reached_end) {
  SHOAL_RETURN_IF_ERROR(FailWith(inner));
  *reached_end = true;
  return Status::Ok();
}

TEST(MacroTest, ReturnIfErrorPassesAnErrorUp) {
  bool reached_end = false;
  Status status = ReturnIfError(Code::kBusy, &reached_end);
  EXPECT_EQ(status.code(), Code::kBusy);
  EXPECT_EQ(status.message(), "inner");
  EXPECT_FALSE(reached_end);
}

TEST(MacroTest, ReturnIfErrorContinuesOnOk) {
  bool reached_end = false;
  EXPECT_TRUE(ReturnIfError(Code::kOk, &reached_end).ok());
  EXPECT_TRUE(reached_end);
}

Result<std::string> Produce(bool fail) {
  if (fail) return Status(Code::kNoSpace, "full");
  return std::string("made");
}

Result<size_t> AssignOrReturn(bool fail) {
  SHOAL_ASSIGN_OR_RETURN(std::string made, Produce(fail));
  SHOAL_ASSIGN_OR_RETURN(auto again, Produce(fail));  // a second use in one scope compiles
  return made.size() + again.size();
}

TEST(MacroTest, AssignOrReturnAssignsTheValue) {
  Result<size_t> result = AssignOrReturn(false);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 8u);
}

TEST(MacroTest, AssignOrReturnPassesAnErrorUp) {
  Result<size_t> result = AssignOrReturn(true);
  EXPECT_EQ(result.status().code(), Code::kNoSpace);
  EXPECT_EQ(result.status().message(), "full");
}

Status AssignToExisting(bool fail, std::string* out) {
  SHOAL_ASSIGN_OR_RETURN(*out, Produce(fail));
  return Status::Ok();
}

TEST(MacroTest, AssignOrReturnAssignsToAnExistingVariable) {
  std::string out = "untouched";
  EXPECT_TRUE(AssignToExisting(false, &out).ok());
  EXPECT_EQ(out, "made");
}

TEST(MacroTest, AssignOrReturnLeavesTheTargetOnError) {
  std::string out = "untouched";
  EXPECT_EQ(AssignToExisting(true, &out).code(), Code::kNoSpace);
  EXPECT_EQ(out, "untouched");
}

}  // namespace
}  // namespace shoal

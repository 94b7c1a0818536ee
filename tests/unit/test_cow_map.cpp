// Tests of the copy-on-write map an append works on (record/cow_map.hpp): which pages it reports
// as changed (those written, every page past the old end, none other), that the file itself is
// never written, growth into the reserved range, and that the page table and the comparison with
// the file agree.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "record/cow_map.hpp"

namespace fs = std::filesystem;
using corescope::record::detail::Changes;
using corescope::record::detail::CowMap;
using corescope::record::detail::kPageBytes;

namespace {

class CowMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "corescope-cowmap-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ::close(fd);
    path_ = pattern;
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    fs::remove(path_);
  }

  // A file of `size` bytes, byte i = i * 7 mod 251, opened for reading.
  int make_file(std::size_t size) {
    original_.resize(size);
    for (std::size_t i = 0; i < size; ++i) original_[i] = static_cast<unsigned char>(i * 7 % 251);
    std::ofstream(path_, std::ios::binary)
        .write(reinterpret_cast<const char*>(original_.data()), static_cast<std::streamsize>(size));
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    return fd_;
  }
  std::vector<unsigned char> on_disk() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static std::set<std::uint64_t> indexes(const Changes& c) {
    std::set<std::uint64_t> out;
    for (const auto& [index, page] : c.pages) out.insert(index);
    return out;
  }
  // The kPageBytes pages that share a system page with page `index`.
  static std::set<std::uint64_t> neighbours(std::uint64_t index, std::uint64_t end) {
    const std::uint64_t per = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / kPageBytes;
    std::set<std::uint64_t> out;
    for (std::uint64_t i = index / per * per; i < (index / per + 1) * per && i < end; ++i)
      out.insert(i);
    return out;
  }

  std::string path_;
  std::vector<unsigned char> original_;
  int fd_ = -1;
};

TEST_F(CowMapTest, OnlyWrittenPagesAreChangesAndTheFileIsUntouched) {
  const std::size_t size = 64 * kPageBytes;
  ASSERT_GE(make_file(size), 0);
  {
    CowMap map(fd_, path_);
    ASSERT_EQ(map.size(), size);
    unsigned sum = 0;
    for (std::size_t i = 0; i < size; i += 512) sum += map.data()[i];  // every page read
    EXPECT_GT(sum, 0u);
    ASSERT_EQ(std::memcmp(map.data(), original_.data(), size), 0);
    map.data()[3 * kPageBytes + 10] ^= 0xff;
    map.data()[40 * kPageBytes] ^= 0xff;
    const Changes c = map.changes();
    const std::uint64_t end = size / kPageBytes;
    std::set<std::uint64_t> expected = neighbours(3, end);
    expected.merge(neighbours(40, end));
    EXPECT_EQ(indexes(c), expected);
    EXPECT_EQ(c.size, size);
    ASSERT_EQ(c.pages.count(3), 1u);
    EXPECT_EQ(c.pages.at(3)[10], static_cast<unsigned char>(original_[3 * kPageBytes + 10] ^ 0xff));
    EXPECT_EQ(indexes(map.changes_by_comparison()), expected);
  }
  EXPECT_EQ(on_disk(), original_);
}

TEST_F(CowMapTest, GrowthPastTheEndIsAllChangesUpToTheNewSize) {
  const std::size_t size = 2 * kPageBytes + 100;  // the last page is partly past the end
  ASSERT_GE(make_file(size), 0);
  CowMap map(fd_, path_);
  const std::size_t grown = 9 * kPageBytes + 1;
  ASSERT_TRUE(map.resize(grown));
  EXPECT_EQ(map.size(), grown);
  EXPECT_EQ(map.data()[size + 10], 0);  // past the old end reads as zeros
  map.data()[grown - 1] = 42;
  map.data()[5 * kPageBytes] = 7;
  const Changes c = map.changes();
  EXPECT_EQ(c.size, grown);
  // Nothing was written in the mapped part: the pages past the file's mapped pages, to the end.
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t first_new = (size + page - 1) / page * page / kPageBytes;
  std::set<std::uint64_t> expected;
  for (std::uint64_t i = first_new; i <= grown / kPageBytes; ++i) expected.insert(i);
  EXPECT_EQ(indexes(c), expected);
  EXPECT_EQ(c.pages.at(grown / kPageBytes)[0], 42);
  EXPECT_EQ(indexes(map.changes_by_comparison()), expected);
}

TEST_F(CowMapTest, ShrinkingDropsPagesPastTheNewEndAndTooMuchGrowthIsRefused) {
  ASSERT_GE(make_file(10 * kPageBytes), 0);
  CowMap map(fd_, path_);
  map.data()[8 * kPageBytes] = 1;
  map.data()[kPageBytes] ^= 1;
  ASSERT_TRUE(map.resize(4 * kPageBytes));
  const Changes c = map.changes();
  EXPECT_EQ(c.size, 4 * kPageBytes);
  EXPECT_EQ(indexes(c), neighbours(1, 4));
  EXPECT_FALSE(map.resize(std::numeric_limits<std::size_t>::max()));
  EXPECT_EQ(map.size(), 4 * kPageBytes);
}

}  // namespace

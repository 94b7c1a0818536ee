// A file mapped copy-on-write, and the pages written since. See cow_map.hpp.
#include "record/cow_map.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/errors.hpp"

namespace corescope::record::detail {

namespace {

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Address space for growth past the file's end: costs nothing until used, but a process limit
// (ulimit -v) may refuse a large range, so smaller ones are tried down to kLeastHeadroom.
constexpr std::size_t kHeadroom = std::size_t{1} << 32;
constexpr std::size_t kLeastHeadroom = std::size_t{64} << 20;

// /proc/self/pagemap: one 64-bit entry per page of the address space.
constexpr int kPresentBit = 63, kSwappedBit = 62, kFileBit = 61;

bool bit(std::uint64_t entry, int n) { return ((entry >> n) & 1) != 0; }

bool read_at(int fd, void* to, std::size_t n, off_t at, std::size_t* got) {
  auto* out = static_cast<unsigned char*>(to);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out + done, n - done, at + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  *got = done;
  return true;
}

}  // namespace

CowMap::CowMap(int fd, const std::string& shown) : fd_(fd) {
  const long page = ::sysconf(_SC_PAGESIZE);
  page_ = page > 0 ? static_cast<std::size_t>(page) : kPageBytes;
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw RuntimeFailure("cannot read " + shown + ": " + error_text(errno));
  file_size_ = size_ = static_cast<std::size_t>(st.st_size);
  usable_ = round_up(file_size_, page_);
  void* base = MAP_FAILED;
  for (std::size_t headroom = std::max(kHeadroom, usable_);
       base == MAP_FAILED && headroom >= kLeastHeadroom; headroom /= 4) {
    reserved_ = usable_ + headroom;
    base =
        ::mmap(nullptr, reserved_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (base == MAP_FAILED)
    throw RuntimeFailure("cannot reserve memory to append to " + shown + ": " + error_text(errno));
  base_ = static_cast<unsigned char*>(base);
  if (usable_ > 0 && ::mmap(base_, usable_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                            0) == MAP_FAILED) {
    const int e = errno;
    ::munmap(base_, reserved_);
    throw RuntimeFailure("cannot map " + shown + " into memory: " + error_text(e));
  }
}

CowMap::~CowMap() { ::munmap(base_, reserved_); }

bool CowMap::resize(std::size_t bytes) {
  if (bytes > reserved_) return false;
  const std::size_t usable = round_up(bytes, page_);
  if (usable > usable_) {
    if (::mprotect(base_ + usable_, usable - usable_, PROT_READ | PROT_WRITE) != 0) return false;
    usable_ = usable;
  }
  size_ = bytes;
  return true;
}

std::vector<bool> CowMap::written_pages() const {
  const std::size_t pages = round_up(file_size_, page_) / page_;
  std::vector<std::uint64_t> entries(pages);
  const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  std::size_t got = 0;
  const off_t at = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(base_) / page_ * 8);
  const bool ok = fd >= 0 && read_at(fd, entries.data(), pages * 8, at, &got) && got == pages * 8;
  if (fd >= 0) ::close(fd);
  if (!ok) return differing_pages();
  std::vector<bool> written(pages);
  for (std::size_t i = 0; i < pages; ++i)
    written[i] = (bit(entries[i], kPresentBit) && !bit(entries[i], kFileBit)) ||
                 bit(entries[i], kSwappedBit);
  return written;
}

std::vector<bool> CowMap::differing_pages() const {
  const std::size_t pages = round_up(file_size_, page_) / page_;
  std::vector<bool> differ(pages, true);
  std::vector<unsigned char> disk(page_);
  for (std::size_t i = 0; i < pages; ++i) {
    std::size_t got = 0;
    if (!read_at(fd_, disk.data(), page_, static_cast<off_t>(i * page_), &got)) continue;
    std::fill(disk.begin() + static_cast<std::ptrdiff_t>(got), disk.end(), 0);
    differ[i] = std::memcmp(disk.data(), base_ + i * page_, page_) != 0;
  }
  return differ;
}

Changes CowMap::changes() const { return changes_in(written_pages()); }

Changes CowMap::changes_by_comparison() const { return changes_in(differing_pages()); }

Changes CowMap::changes_in(const std::vector<bool>& written) const {
  Changes c;
  c.size = size_;
  const std::size_t per_page = page_ / kPageBytes;
  const auto add = [&](std::size_t index) {
    const unsigned char* from = base_ + index * kPageBytes;
    c.pages.emplace(index, std::vector<unsigned char>(from, from + kPageBytes));
  };
  const std::size_t end = round_up(size_, kPageBytes) / kPageBytes;
  for (std::size_t page = 0; page < written.size(); ++page)
    for (std::size_t i = page * per_page; written[page] && i < (page + 1) * per_page && i < end;
         ++i)
      add(i);
  for (std::size_t i = written.size() * per_page; i < end; ++i) add(i);
  return c;
}

}  // namespace corescope::record::detail

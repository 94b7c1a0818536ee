// A file mapped copy-on-write, for the recorder's append: HDF5 works on the mapped bytes in place
// (h5::File::open_in_place), reads load only the pages it visits, its writes land in private
// copies that the file never sees, and changes() then says which pages it wrote. So an append
// costs what HDF5 touches, whatever the size of the file, and nothing reaches the disk until the
// recorder writes the pages itself. Nothing here knows HDF5's format. (docs/user/results-format.md,
// "Appends are crash-safe")
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "record/atomic_file.hpp"
#include "record/h5.hpp"

namespace corescope::record::detail {

// What an append changed: whole pages (kPageBytes) as they are after it, and the file's length.
struct Changes {
  Pages pages;
  std::uint64_t size = 0;
};

class CowMap final : public h5::Image {
 public:
  // Maps the file behind `fd` (open for reading; neither truncated nor written by anyone while
  // mapped) into a reserved range of address space that it may grow into. RuntimeFailure, one
  // line naming `shown`, when the range cannot be reserved or the file cannot be mapped.
  CowMap(int fd, const std::string& shown);
  ~CowMap() override;
  CowMap(const CowMap&) = delete;
  CowMap& operator=(const CowMap&) = delete;

  unsigned char* data() override { return base_; }
  std::size_t size() const override { return size_; }
  bool resize(std::size_t bytes) override;

  // The pages written since the file was mapped, and every page past its old end up to size().
  // Which pages were written comes from the kernel's page table (/proc/self/pagemap: a written
  // page of a private mapping is no longer the file's); where that cannot be read, each mapped
  // page is compared with the file instead, which costs a read of the file.
  Changes changes() const;
  // The same found by comparing each mapped page with the file (what changes() falls back to).
  Changes changes_by_comparison() const;

 private:
  Changes changes_in(const std::vector<bool>& written) const;
  std::vector<bool> written_pages() const;
  std::vector<bool> differing_pages() const;

  int fd_;
  std::size_t page_ = 0;       // the system's page size
  std::size_t file_size_ = 0;  // the file's length when mapped
  std::size_t reserved_ = 0;   // address space from base_
  std::size_t usable_ = 0;     // bytes from base_ that may be read and written (whole pages)
  std::size_t size_ = 0;
  unsigned char* base_ = nullptr;
};

}  // namespace corescope::record::detail

// RAII layer over the HDF5 C API, used by the recorder: checked calls that throw h5::Error with
// HDF5's own error stack, a move-only Handle that closes whatever kind of id it holds, and small
// File / Group / Dataset / attribute helpers. This header does not include <hdf5.h>, so tests and
// tools can use it without HDF5's include path; h5.cpp checks that the id types agree.
//
// HDF5 1.10 is not thread-safe: call all of this from one thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/errors.hpp"
#include "record/table.hpp"

namespace corescope::record::h5 {

using Id = std::int64_t;  // hid_t
using Status = int;       // herr_t and htri_t

// A failed HDF5 call. what() is one line: our description, then HDF5's messages innermost last.
// stack() has the full stack, one frame per line (function, file:line, major/minor messages).
class Error : public RuntimeFailure {
 public:
  Error(const std::string& what, std::string stack);
  const std::string& stack() const { return stack_; }

 private:
  std::string stack_;
};

// Throw Error (with HDF5's current error stack, which they clear) when an id is negative or a
// status is negative. `what` says what we were doing, e.g. "open dataset /runs/kernel in x.h5".
Id check_id(Id id, const std::string& what);
Status check(Status status, const std::string& what);

// Turns off HDF5's automatic printing of error stacks to stderr while alive (errors are reported
// through Error instead) and restores the previous handler afterwards.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  using AutoFunc = Status (*)(Id, void*);
  AutoFunc saved_func_ = nullptr;
  void* saved_data_ = nullptr;
  bool saved_ = false;
};

// The first close HDF5 failed in a Handle's destructor and that no File::close has reported yet,
// as one line; taken once. A command that would otherwise succeed fails with it: after a failed
// close HDF5 may be unable to shut down cleanly at exit.
std::optional<std::string> take_close_failure();

// For a command that has failed and said why: HDF5 prints nothing more, at exit either. After
// an error on a damaged file HDF5 1.10 may hold memory it cannot free, and its exit-time
// "infinite loop closing library" would be a second, unexplained line. Where a close failed,
// the process ends here with `code`, without HDF5's exit-time shutdown: that shutdown closes the
// file again, and on a file whose metadata is damaged HDF5 1.10 crashed in it (SIGSEGV in
// H5F__close_cb; tests/data/damaged/flip-176540.h5.gz).
void quiet_shutdown(int code);

// Between the runs of one process (`corescope run-batch`): closes the HDF5 library, which frees
// what it keeps between files (its free lists and caches, about 7 MiB after an append); the next
// HDF5 call opens it again. Every handle must be closed.
void release_library();

// Owns one HDF5 id (file, group, dataset, attribute, datatype, dataspace or property list) and
// closes it with the matching H5?close. Destruction never throws; close() does, for the callers
// that must know the close worked (a file about to be fsynced).
class Handle {
 public:
  Handle() = default;
  explicit Handle(Id id) : id_(id) {}
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  Id id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void close();

 private:
  Id id_ = -1;
};

// Element kinds corescope stores: int64, float64 and UTF-8 text.
enum class Kind { Int64, Float64, Text };
const char* kind_name(Kind kind);

using Scalar = std::variant<std::int64_t, double, std::string>;

// Attributes of any object (a File's are the root group's). Text is written as a scalar
// variable-length UTF-8 string, which h5py returns as str and h5dump prints plainly.
void set_attribute(const Handle& object, const std::string& name, const Scalar& value);
// A 1-D int64 array attribute (CF's flag_values and flag_masks).
void set_integers_attribute(const Handle& object, const std::string& name,
                            const std::vector<std::int64_t>& values);
// A fixed-length ASCII string attribute, as PyTables writes its own CLASS/VERSION/TITLE.
void set_fixed_text_attribute(const Handle& object, const std::string& name,
                              const std::string& value);
// nullopt when absent or not a single integer, float or string.
std::optional<Scalar> attribute(const Handle& object, const std::string& name);
bool has_attribute(const Handle& object, const std::string& name);
// In creation order where the object tracks it, else by name.
std::vector<std::string> attribute_names(const Handle& object);
std::string scalar_text(const Scalar& value);
// Reads every attribute of `object`, whatever its type or shape, and throws Error at the first
// that HDF5 cannot list or read: the check of a file (file_rows.hpp) visits the attribute
// storage an append may rewrite or delete, not only the attributes corescope reads.
void read_all_attributes(const Handle& object);

// True when `path` starts with an HDF5 signature (H5Fis_hdf5); throws Error when it cannot tell.
bool is_hdf5_file(const std::string& path);

class Dataset;

class Group {
 public:
  Group() = default;
  explicit Group(Handle handle) : handle_(std::move(handle)) {}
  const Handle& handle() const { return handle_; }

  bool has(const std::string& name) const;  // a link of that name exists
  bool has_group(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  Group group(const std::string& name) const;
  Group create_group(const std::string& name) const;  // tracks link and attribute creation order
  Dataset dataset(const std::string& name) const;
  std::vector<std::string> children() const;  // creation order where tracked, else by name
  void remove(const std::string& name) const;
  std::string path() const;

 private:
  Handle handle_;
};

// A block of memory that holds a whole HDF5 file and that HDF5 reads and writes in place, making
// no copy (File::open_in_place): data() holds size() bytes; resize() makes it `bytes` long
// without moving it, or returns false.
class Image {
 public:
  virtual ~Image() = default;
  virtual unsigned char* data() = 0;
  virtual std::size_t size() const = 0;
  virtual bool resize(std::size_t bytes) = 0;
};

class File {
 public:
  // A new file (fails if it exists) that tracks creation order of root links and attributes.
  static File create(const std::string& path);
  static File open(const std::string& path, bool writable);
  // In memory (HDF5's core driver, no backing store): HDF5 reads and writes no file; `name` is
  // only for messages. image() gives the bytes of the file as it is now (flushed), for the
  // caller to write.
  static File create_in_memory(const std::string& name);
  std::vector<unsigned char> image() const;
  // Opens the file that `image` holds read-write in memory (the core driver again), working on
  // the image's own bytes: `image` must outlive the File, and after close() it holds the file
  // as HDF5 left it (its size() the file's length). Costs what HDF5 reads and writes, whatever
  // the size of the file; a full disk cannot fail HDF5 half-way.
  static File open_in_place(const std::string& name, Image& image);

  const Handle& handle() const { return handle_; }
  Group root() const;
  void flush() const;
  // Throws if HDF5 cannot complete the close, or could not close an object of this file (or
  // any other) since it was opened.
  void close();

 private:
  File(Handle handle, std::string path);
  Handle handle_;
  std::string path_;
  std::uint64_t close_failures_at_open_ = 0;
};

// One member of a compound record: text members are fixed-length, `width` bytes (NUL-padded).
struct Field {
  std::string name;
  Kind kind = Kind::Int64;
  std::size_t width = 0;  // text only
  bool operator==(const Field&) const = default;
};

class Dataset {
 public:
  Dataset() = default;
  explicit Dataset(Handle handle) : handle_(std::move(handle)) {}
  const Handle& handle() const { return handle_; }

  // A 1-D extendible (H5S_UNLIMITED), chunked, deflated dataset of `rows` elements; text is
  // variable-length UTF-8. Unwritten elements read as the fill value: -1, NaN or "".
  static Dataset create_column(const Group& group, const std::string& name, Kind kind,
                               std::size_t rows, std::size_t chunk_rows);
  // The same for compound records of `fields`, packed in that order.
  static Dataset create_records(const Group& group, const std::string& name,
                                const std::vector<Field>& fields, std::size_t rows,
                                std::size_t chunk_rows);

  std::size_t size() const;  // elements of a 1-D dataset
  void resize(std::size_t rows) const;
  std::string path() const;

  // 1-D columns. kind() throws for types corescope does not read.
  Kind kind() const;
  void write(std::size_t offset, const Values& values) const;
  Values read() const;  // all elements, as int64, double or text

  // Compound records. fields() throws when the dataset is not a compound of supported members.
  std::vector<Field> fields() const;
  // Writes rows [first, first + count) of `columns` (one Values per field, in field order) at
  // record `offset`. Text longer than its field's width is an invariant failure.
  void write_records(std::size_t offset, const std::vector<Field>& fields,
                     const std::vector<const Values*>& columns, std::size_t first,
                     std::size_t count) const;
  std::vector<Values> read_records() const;

  // Dimension scales (HDF5 high-level library): make this dataset the scale named `dimension`,
  // attach a scale to this dataset's only axis, and ask whether this dataset is a scale.
  void make_scale(const std::string& dimension) const;
  void attach_scale(const Dataset& scale) const;
  bool is_scale() const;

 private:
  Handle handle_;
};

}  // namespace corescope::record::h5

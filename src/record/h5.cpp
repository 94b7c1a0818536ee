// The HDF5 C API behind h5.hpp: error-stack capture, id closing, attributes, 1-D column and
// compound datasets, dimension scales.
#include "record/h5.hpp"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

namespace corescope::record::h5 {

static_assert(std::is_same_v<Id, hid_t>, "h5::Id must be hid_t (HDF5 >= 1.10)");
static_assert(std::is_same_v<Status, herr_t> && std::is_same_v<Status, htri_t>);

namespace {

// Newlines inside HDF5's messages would break the one-line error contract.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

struct StackText {
  std::string full;                       // one line per frame
  std::vector<std::string> descriptions;  // API level first, innermost last
};

herr_t collect_frame(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<StackText*>(data);
  std::array<char, 160> major{}, minor{};
  H5Eget_msg(err->maj_num, nullptr, major.data(), major.size());
  H5Eget_msg(err->min_num, nullptr, minor.data(), minor.size());
  const std::string desc = one_line(err->desc ? err->desc : "");
  out->full += "#" + std::to_string(n) + " " + (err->func_name ? err->func_name : "?") + "() at " +
               (err->file_name ? err->file_name : "?") + ":" + std::to_string(err->line) + ": " +
               desc + " [" + major.data() + " / " + minor.data() + "]\n";
  if (!desc.empty()) out->descriptions.push_back(desc);
  return 0;
}

// Takes (and thereby clears) the calling thread's current HDF5 error stack.
StackText take_error_stack() {
  StackText text;
  const hid_t stack = H5Eget_current_stack();
  if (stack < 0) return text;
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, collect_frame, &text);
  H5Eclose_stack(stack);
  return text;
}

[[noreturn]] void throw_hdf5_error(const std::string& what) {
  StackText stack = take_error_stack();
  std::string line = what;
  // The API-level message says what failed, the innermost says why; the middle rarely helps.
  if (!stack.descriptions.empty()) {
    line += ": " + stack.descriptions.front();
    if (stack.descriptions.size() > 1 && stack.descriptions.back() != stack.descriptions.front())
      line += "; " + stack.descriptions.back();
  }
  throw Error(line, std::move(stack.full));
}

herr_t close_id(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    case H5I_ERROR_STACK: return H5Eclose_stack(id);
    default: return -1;
  }
}

std::string name_of(hid_t id) {
  const ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string name(static_cast<std::size_t>(n), '\0');
  H5Iget_name(id, name.data(), name.size() + 1);
  return name;
}

std::string file_of(hid_t id) {
  const ssize_t n = H5Fget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string name(static_cast<std::size_t>(n), '\0');
  H5Fget_name(id, name.data(), name.size() + 1);
  return name;
}

// "/runs/kernel in out.h5", for messages.
std::string where(hid_t id) { return name_of(id) + " in " + file_of(id); }

Handle make(hid_t id, const std::string& what) { return Handle(check_id(id, what)); }

Handle vlen_text_type() {
  Handle t = make(H5Tcopy(H5T_C_S1), "copy string type");
  check(H5Tset_size(t.id(), H5T_VARIABLE), "make string type variable-length");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "set UTF-8 on string type");
  return t;
}

Handle fixed_text_type(std::size_t width, H5T_cset_t cset, H5T_str_t pad) {
  Handle t = make(H5Tcopy(H5T_C_S1), "copy string type");
  check(H5Tset_size(t.id(), width), "set string width");
  check(H5Tset_cset(t.id(), cset), "set string character set");
  check(H5Tset_strpad(t.id(), pad), "set string padding");
  return t;
}

// File types are little-endian whatever the host, so files move between machines unchanged.
Handle file_type(Kind kind, std::size_t width = 0) {
  switch (kind) {
    case Kind::Int64: return make(H5Tcopy(H5T_STD_I64LE), "copy int64 type");
    case Kind::Float64: return make(H5Tcopy(H5T_IEEE_F64LE), "copy float64 type");
    case Kind::Text:
      return width == 0 ? vlen_text_type() : fixed_text_type(width, H5T_CSET_UTF8, H5T_STR_NULLPAD);
  }
  return {};
}

Handle memory_type(Kind kind, std::size_t width = 0) {
  switch (kind) {
    case Kind::Int64: return make(H5Tcopy(H5T_NATIVE_INT64), "copy native int64 type");
    case Kind::Float64: return make(H5Tcopy(H5T_NATIVE_DOUBLE), "copy native double type");
    case Kind::Text:
      return width == 0 ? vlen_text_type() : fixed_text_type(width, H5T_CSET_UTF8, H5T_STR_NULLPAD);
  }
  return {};
}

Kind kind_of_values(const Values& v) { return static_cast<Kind>(v.index()); }
static_assert(std::is_same_v<std::variant_alternative_t<0, Values>, std::vector<Int>> &&
              std::is_same_v<std::variant_alternative_t<1, Values>, std::vector<double>> &&
              std::is_same_v<std::variant_alternative_t<2, Values>, std::vector<std::string>>);

Values empty_values(Kind kind) {
  switch (kind) {
    case Kind::Int64: return std::vector<Int>{};
    case Kind::Float64: return std::vector<double>{};
    case Kind::Text: return std::vector<std::string>{};
  }
  return {};
}

std::size_t field_size(const Field& f) { return f.kind == Kind::Text ? f.width : 8; }

// Compound of `fields` packed in order, with file (little-endian) or native member types.
Handle compound_type(const std::vector<Field>& fields, bool native) {
  std::size_t total = 0;
  for (const auto& f : fields) {
    CS_CHECK(f.kind != Kind::Text || f.width > 0);
    total += field_size(f);
  }
  Handle t = make(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(total, 1)), "create compound type");
  std::size_t offset = 0;
  for (const auto& f : fields) {
    Handle member = native ? memory_type(f.kind, f.width) : file_type(f.kind, f.width);
    check(H5Tinsert(t.id(), f.name.c_str(), offset, member.id()), "add compound member " + f.name);
    offset += field_size(f);
  }
  return t;
}

Handle select_rows(hid_t dataset, std::size_t offset, std::size_t count) {
  Handle space = make(H5Dget_space(dataset), "get dataspace of " + where(dataset));
  const hsize_t start[1] = {offset}, n[1] = {count};
  check(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start, nullptr, n, nullptr),
        "select rows of " + where(dataset));
  return space;
}

Handle memory_space(std::size_t count) {
  const hsize_t n[1] = {count};
  return make(H5Screate_simple(1, n, nullptr), "create memory dataspace");
}

// Whether the links (or attributes) of `object` have a creation-order index; files from other
// tools often have none.
bool indexes_creation_order(hid_t object, bool links) {
  hid_t plist = -1;
  switch (H5Iget_type(object)) {
    case H5I_FILE: plist = H5Fget_create_plist(object); break;
    case H5I_GROUP: plist = H5Gget_create_plist(object); break;
    case H5I_DATASET: plist = H5Dget_create_plist(object); break;
    default: return false;
  }
  const Handle properties(check_id(plist, "get the creation properties of " + where(object)));
  unsigned flags = 0;
  check(links ? H5Pget_link_creation_order(properties.id(), &flags)
              : H5Pget_attr_creation_order(properties.id(), &flags),
        "get the creation order flags of " + where(object));
  return (flags & H5P_CRT_ORDER_INDEXED) != 0;
}

// By creation order where the object indexes it, else by name. A failure of the index the
// object has is damage, not a reason to try the other one: an append inserts into both.
template <typename Iterate>
std::vector<std::string> list_in_creation_order(hid_t object, bool links, Iterate iterate,
                                                const std::string& what) {
  std::vector<std::string> names;
  check(iterate(indexes_creation_order(object, links) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME, names),
        what);
  return names;
}

std::string shortest(double v) {
  if (std::isnan(v)) return "nan";
  std::array<char, 32> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

}  // namespace

Error::Error(const std::string& what, std::string stack)
    : RuntimeFailure(what), stack_(std::move(stack)) {}

Id check_id(Id id, const std::string& what) {
  if (id < 0) throw_hdf5_error(what);
  return id;
}

Status check(Status status, const std::string& what) {
  if (status < 0) throw_hdf5_error(what);
  return status;
}

QuietErrors::QuietErrors() {
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  if (H5Eget_auto2(H5E_DEFAULT, &func, &data) >= 0) {
    saved_func_ = func;
    saved_data_ = data;
    saved_ = true;
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

// A close that HDF5 failed (in a destructor, which cannot throw). HDF5 1.10 can leave what such
// a close was releasing allocated (deleting an object whose attribute storage is damaged, say),
// and then prints "infinite loop closing library" when the process exits: the failure must reach
// the user as an error, never as an exit 0 with that complaint after it.
namespace {
struct CloseFailures {
  std::uint64_t count = 0;
  std::string first;  // taken by take_close_failure
};
CloseFailures close_failures;

void note_close_failure() {
  StackText stack = take_error_stack();
  ++close_failures.count;
  if (close_failures.first.empty())
    close_failures.first =
        "HDF5 could not close an object" +
        (stack.descriptions.empty() ? std::string() : ": " + stack.descriptions.back());
}
}  // namespace

std::optional<std::string> take_close_failure() {
  if (close_failures.first.empty()) return std::nullopt;
  return std::exchange(close_failures.first, std::string());
}

QuietErrors::~QuietErrors() {
  if (saved_) H5Eset_auto2(H5E_DEFAULT, saved_func_, saved_data_);
}

void release_library() { check(H5close(), "close the HDF5 library"); }

void quiet_shutdown(int code) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (close_failures.count == 0) return;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle old(id_);  // closes the id we held
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ < 0) return;
  QuietErrors quiet;
  // Ids die early when a file is closed with H5F_CLOSE_STRONG; closing one again is an error.
  if (H5Iis_valid(id_) > 0 && close_id(id_) < 0) note_close_failure();
}

void Handle::close() {
  if (id_ < 0) return;
  const hid_t id = id_;
  id_ = -1;
  if (H5Iis_valid(id) <= 0) return;
  check(close_id(id), "close HDF5 object");
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Int64: return "int64";
    case Kind::Float64: return "float64";
    case Kind::Text: return "text";
  }
  return "?";
}

std::string scalar_text(const Scalar& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return shortest(*d);
  return std::get<std::string>(value);
}

// ---------------------------------------------------------------- attributes

bool has_attribute(const Handle& object, const std::string& name) {
  return check(H5Aexists(object.id(), name.c_str()),
               "look for attribute " + name + " on " + where(object.id())) > 0;
}

void set_attribute(const Handle& object, const std::string& name, const Scalar& value) {
  const std::string what = "write attribute " + name + " on " + where(object.id());
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), what);
  Handle space = make(H5Screate(H5S_SCALAR), what);
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    Handle a = make(
        H5Acreate2(object.id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
        what);
    check(H5Awrite(a.id(), H5T_NATIVE_INT64, i), what);
  } else if (const auto* d = std::get_if<double>(&value)) {
    Handle a = make(
        H5Acreate2(object.id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
        what);
    check(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, d), what);
  } else {
    Handle type = vlen_text_type();
    Handle a =
        make(H5Acreate2(object.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
             what);
    const char* text = std::get<std::string>(value).c_str();
    check(H5Awrite(a.id(), type.id(), &text), what);
  }
}

void set_integers_attribute(const Handle& object, const std::string& name,
                            const std::vector<std::int64_t>& values) {
  const std::string what = "write attribute " + name + " on " + where(object.id());
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), what);
  const hsize_t n[1] = {values.size()};
  Handle space = make(H5Screate_simple(1, n, nullptr), what);
  Handle a = make(
      H5Acreate2(object.id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
      what);
  check(H5Awrite(a.id(), H5T_NATIVE_INT64, values.data()), what);
}

void set_fixed_text_attribute(const Handle& object, const std::string& name,
                              const std::string& value) {
  const std::string what = "write attribute " + name + " on " + where(object.id());
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), what);
  Handle space = make(H5Screate(H5S_SCALAR), what);
  Handle type =
      fixed_text_type(std::max<std::size_t>(value.size(), 1), H5T_CSET_ASCII, H5T_STR_NULLTERM);
  std::string buffer = value;
  buffer.resize(std::max<std::size_t>(value.size(), 1), '\0');
  Handle a = make(
      H5Acreate2(object.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), what);
  check(H5Awrite(a.id(), type.id(), buffer.data()), what);
}

std::optional<Scalar> attribute(const Handle& object, const std::string& name) {
  if (!has_attribute(object, name)) return std::nullopt;
  const std::string what = "read attribute " + name + " of " + where(object.id());
  Handle a = make(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), what);
  Handle space = make(H5Aget_space(a.id()), what);
  if (H5Sget_simple_extent_npoints(space.id()) != 1) return std::nullopt;
  Handle type = make(H5Aget_type(a.id()), what);
  switch (H5Tget_class(type.id())) {
    case H5T_INTEGER: {
      std::int64_t v = 0;
      check(H5Aread(a.id(), H5T_NATIVE_INT64, &v), what);
      return Scalar{v};
    }
    case H5T_FLOAT: {
      double v = 0;
      check(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v), what);
      return Scalar{v};
    }
    case H5T_STRING: {
      if (check(H5Tis_variable_str(type.id()), what) > 0) {
        Handle mem = vlen_text_type();
        char* text = nullptr;
        check(H5Aread(a.id(), mem.id(), &text), what);
        std::string value = text ? text : "";
        H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, &text);
        return Scalar{value};
      }
      const std::size_t width = H5Tget_size(type.id());
      std::string buffer(width, '\0');
      check(H5Aread(a.id(), type.id(), buffer.data()), what);
      buffer.resize(std::strlen(buffer.c_str()));
      if (H5Tget_strpad(type.id()) == H5T_STR_SPACEPAD)
        while (!buffer.empty() && buffer.back() == ' ') buffer.pop_back();
      return Scalar{buffer};
    }
    default: return std::nullopt;
  }
}

void read_all_attributes(const Handle& object) {
  for (const auto& name : attribute_names(object)) {
    const std::string what = "read attribute " + name + " of " + where(object.id());
    Handle a = make(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), what);
    Handle space = make(H5Aget_space(a.id()), what);
    Handle type = make(H5Aget_type(a.id()), what);
    Handle native = make(H5Tget_native_type(type.id(), H5T_DIR_DEFAULT), what);
    const hssize_t points = H5Sget_simple_extent_npoints(space.id());
    check(points < 0 ? -1 : 0, what);
    std::vector<unsigned char> buffer(static_cast<std::size_t>(points) * H5Tget_size(native.id()) +
                                      1);
    check(H5Aread(a.id(), native.id(), buffer.data()), what);
    // Variable-length values (text, dimension lists) were allocated by HDF5; a no-op otherwise.
    H5Dvlen_reclaim(native.id(), space.id(), H5P_DEFAULT, buffer.data());
  }
}

std::vector<std::string> attribute_names(const Handle& object) {
  auto iterate = [&](H5_index_t index, std::vector<std::string>& names) {
    hsize_t position = 0;
    return H5Aiterate2(
        object.id(), index, H5_ITER_INC, &position,
        [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(name);
          return 0;
        },
        &names);
  };
  return list_in_creation_order(object.id(), false, iterate,
                                "list attributes of " + where(object.id()));
}

// ---------------------------------------------------------------- groups and files

bool is_hdf5_file(const std::string& path) {
  return check(H5Fis_hdf5(path.c_str()), "check whether " + path + " is an HDF5 file") > 0;
}

bool Group::has(const std::string& name) const {
  return check(H5Lexists(handle_.id(), name.c_str(), H5P_DEFAULT),
               "look for " + name + " in " + where(handle_.id())) > 0;
}

namespace {
H5I_type_t type_of_child(hid_t group, const std::string& name) {
  if (check(H5Lexists(group, name.c_str(), H5P_DEFAULT),
            "look for " + name + " in " + where(group)) <= 0)
    return H5I_BADID;
  // A dangling soft or external link exists as a link but cannot be opened: treat it as absent.
  // A hard link always names an object in this file; one that cannot be opened is damage (its
  // object header), which a reader or an append must not take for a missing column.
  H5L_info_t link{};
  check(H5Lget_info(group, name.c_str(), &link, H5P_DEFAULT),
        "look for " + name + " in " + where(group));
  const hid_t id = H5Oopen(group, name.c_str(), H5P_DEFAULT);
  if (id < 0) {
    if (link.type == H5L_TYPE_HARD) throw_hdf5_error("open " + name + " in " + where(group));
    H5Eclear2(H5E_DEFAULT);
    return H5I_BADID;
  }
  Handle object(id);
  return H5Iget_type(id);
}
}  // namespace

bool Group::has_group(const std::string& name) const {
  return type_of_child(handle_.id(), name) == H5I_GROUP;
}
bool Group::has_dataset(const std::string& name) const {
  return type_of_child(handle_.id(), name) == H5I_DATASET;
}

Group Group::group(const std::string& name) const {
  return Group(make(H5Gopen2(handle_.id(), name.c_str(), H5P_DEFAULT),
                    "open group " + name + " in " + where(handle_.id())));
}

Group Group::create_group(const std::string& name) const {
  const std::string what = "create group " + name + " in " + where(handle_.id());
  Handle gcpl = make(H5Pcreate(H5P_GROUP_CREATE), what);
  // Creation order keeps columns in the order they were declared (h5py and xarray follow it).
  check(H5Pset_link_creation_order(gcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), what);
  check(H5Pset_attr_creation_order(gcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), what);
  return Group(
      make(H5Gcreate2(handle_.id(), name.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT), what));
}

Dataset Group::dataset(const std::string& name) const {
  return Dataset(make(H5Dopen2(handle_.id(), name.c_str(), H5P_DEFAULT),
                      "open dataset " + name + " in " + where(handle_.id())));
}

std::vector<std::string> Group::children() const {
  auto iterate = [&](H5_index_t index, std::vector<std::string>& names) {
    hsize_t position = 0;
    return H5Literate(
        handle_.id(), index, H5_ITER_INC, &position,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(name);
          return 0;
        },
        &names);
  };
  return list_in_creation_order(handle_.id(), true, iterate, "list " + where(handle_.id()));
}

void Group::remove(const std::string& name) const {
  check(H5Ldelete(handle_.id(), name.c_str(), H5P_DEFAULT),
        "delete " + name + " in " + where(handle_.id()));
}

std::string Group::path() const { return name_of(handle_.id()); }

namespace {
Handle file_access() {
  Handle fapl = make(H5Pcreate(H5P_FILE_ACCESS), "create file access properties");
  // STRONG: when close() returns, every object is closed and all data is in the file, which the
  // recorder relies on before it fsyncs and renames.
  check(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), "set file close degree");
  // Objects in the file format of HDF5 1.8 at newest, whatever library writes them: a file that
  // HDF5 1.14 wrote opens with 1.10 (and with 1.8), and the reverse (results-format.md).
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18),
        "set library version bounds");
#if H5_VERSION_GE(1, 10, 7)
  // The recorder serialises writers itself; where the file system has no flock, go on.
  check(H5Pset_file_locking(fapl.id(), true, true), "set file locking");
#endif
  return fapl;
}

// HDF5's core driver without a backing store: the file lives in memory and HDF5 writes nothing
// to disk, so a full disk can only fail the caller's own write of image().
Handle memory_access() {
  Handle fapl = file_access();
  check(H5Pset_fapl_core(fapl.id(), 1 << 20, false), "set the in-memory file driver");
  return fapl;
}

Handle file_creation(const std::string& what) {
  Handle fcpl = make(H5Pcreate(H5P_FILE_CREATE), what);
  check(H5Pset_link_creation_order(fcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), what);
  check(H5Pset_attr_creation_order(fcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), what);
  return fcpl;
}
}  // namespace

// ---------------------------------------------------------------- a file image used in place

// File image callbacks that hand HDF5's core driver the Image's own bytes wherever it would
// allocate and copy an image (for the property lists and for the open file), and let it grow
// the Image in place. HDF5's file image API (H5Pset_file_image_callbacks) is for this.
namespace {

Image& image_of(void* udata) { return *static_cast<Image*>(udata); }

void* image_malloc(std::size_t size, H5FD_file_image_op_t, void* udata) {
  Image& image = image_of(udata);
  return size <= image.size() || image.resize(size) ? image.data() : nullptr;
}

void* image_memcpy(void* to, const void* from, std::size_t size, H5FD_file_image_op_t, void*) {
  if (to != from) std::memmove(to, from, size);
  return to;
}

void* image_realloc(void* at, std::size_t size, H5FD_file_image_op_t, void* udata) {
  Image& image = image_of(udata);
  return at == image.data() && image.resize(size) ? at : nullptr;
}

herr_t image_free(void*, H5FD_file_image_op_t, void*) { return 0; }
void* udata_copy(void* udata) { return udata; }
herr_t udata_free(void*) { return 0; }

}  // namespace

File File::create(const std::string& path) {
  const std::string what = "create HDF5 file " + path;
  Handle fcpl = file_creation(what);
  Handle fapl = file_access();
  return File(make(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.id(), fapl.id()), what), path);
}

File File::create_in_memory(const std::string& name) {
  const std::string what = "create in-memory HDF5 file for " + name;
  Handle fcpl = file_creation(what);
  Handle fapl = memory_access();
  const std::string memory_name = "memory:" + name;
  return File(make(H5Fcreate(memory_name.c_str(), H5F_ACC_EXCL, fcpl.id(), fapl.id()), what), name);
}

std::vector<unsigned char> File::image() const {
  flush();
  const std::string what = "take the image of " + path_;
  const ssize_t size = H5Fget_file_image(handle_.id(), nullptr, 0);
  check(size < 0 ? -1 : 0, what);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  check(H5Fget_file_image(handle_.id(), bytes.data(), bytes.size()) == size ? 0 : -1, what);
  return bytes;
}

File File::open_in_place(const std::string& name, Image& image) {
  const std::string what = "open HDF5 file " + name;
  if (image.size() == 0) throw Error(what + ": the file is empty", "");
  Handle fapl = memory_access();
  H5FD_file_image_callbacks_t callbacks{image_malloc, image_memcpy, image_realloc, image_free,
                                        udata_copy,   udata_free,   &image};
  check(H5Pset_file_image_callbacks(fapl.id(), &callbacks), what);
  check(H5Pset_file_image(fapl.id(), image.data(), image.size()), what);
  // The core driver refuses an image under the name of a file on disk: a name no file has.
  const std::string memory_name = "memory:" + name;
  return File(make(H5Fopen(memory_name.c_str(), H5F_ACC_RDWR, fapl.id()), what), name);
}

File File::open(const std::string& path, bool writable) {
  Handle fapl = file_access();
  return File(make(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.id()),
                   "open HDF5 file " + path),
              path);
}

Group File::root() const {
  return Group(make(H5Gopen2(handle_.id(), "/", H5P_DEFAULT), "open root group of " + path_));
}

void File::flush() const { check(H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL), "flush " + path_); }

void File::close() {
  try {
    handle_.close();
  } catch (const Error& e) {
    throw Error("close " + path_ + ": " + e.what(), e.stack());
  }
  // An object of this file that failed to close earlier (in a destructor) fails the file's close.
  if (close_failures.count != close_failures_at_open_)
    if (auto failure = take_close_failure()) throw Error("close " + path_ + ": " + *failure, "");
}

File::File(Handle handle, std::string path)
    : handle_(std::move(handle)),
      path_(std::move(path)),
      close_failures_at_open_(close_failures.count) {}

// ---------------------------------------------------------------- datasets

namespace {
Handle chunked_properties(std::size_t chunk_rows, bool numeric, const std::string& what) {
  Handle dcpl = make(H5Pcreate(H5P_DATASET_CREATE), what);
  const hsize_t chunk[1] = {std::max<std::size_t>(chunk_rows, 1)};
  check(H5Pset_chunk(dcpl.id(), 1, chunk), what);
  check(H5Pset_attr_creation_order(dcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), what);
  // Compression keeps the mostly-empty last chunk of a small file small; every reader we
  // support (h5py, netCDF, PyTables, h5dump) has deflate.
  if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    if (numeric) check(H5Pset_shuffle(dcpl.id()), what);
    check(H5Pset_deflate(dcpl.id(), 4), what);
  }
  return dcpl;
}

Handle extendible_space(std::size_t rows, const std::string& what) {
  const hsize_t dims[1] = {rows}, maxdims[1] = {H5S_UNLIMITED};
  return make(H5Screate_simple(1, dims, maxdims), what);
}
}  // namespace

Dataset Dataset::create_column(const Group& group, const std::string& name, Kind kind,
                               std::size_t rows, std::size_t chunk_rows) {
  const std::string what = "create dataset " + name + " in " + where(group.handle().id());
  Handle dcpl = chunked_properties(chunk_rows, kind != Kind::Text, what);
  if (kind == Kind::Int64) {
    const std::int64_t missing = kMissingInt;
    check(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_INT64, &missing), what);
  } else if (kind == Kind::Float64) {
    const double missing = std::numeric_limits<double>::quiet_NaN();
    check(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_DOUBLE, &missing), what);
  }
  Handle type = file_type(kind);
  Handle space = extendible_space(rows, what);
  return Dataset(make(H5Dcreate2(group.handle().id(), name.c_str(), type.id(), space.id(),
                                 H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                      what));
}

Dataset Dataset::create_records(const Group& group, const std::string& name,
                                const std::vector<Field>& fields, std::size_t rows,
                                std::size_t chunk_rows) {
  const std::string what = "create dataset " + name + " in " + where(group.handle().id());
  Handle dcpl = chunked_properties(chunk_rows, false, what);
  Handle type = compound_type(fields, false);
  Handle space = extendible_space(rows, what);
  return Dataset(make(H5Dcreate2(group.handle().id(), name.c_str(), type.id(), space.id(),
                                 H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                      what));
}

std::size_t Dataset::size() const {
  const std::string what = "get size of " + where(handle_.id());
  Handle space = make(H5Dget_space(handle_.id()), what);
  if (H5Sget_simple_extent_ndims(space.id()) != 1)
    throw RuntimeFailure(where(handle_.id()) + " is not 1-D");
  hsize_t dims[1] = {0};
  check(H5Sget_simple_extent_dims(space.id(), dims, nullptr), what);
  return dims[0];
}

void Dataset::resize(std::size_t rows) const {
  const hsize_t dims[1] = {rows};
  check(H5Dset_extent(handle_.id(), dims),
        "extend " + where(handle_.id()) + " to " + std::to_string(rows) + " rows");
}

std::string Dataset::path() const { return name_of(handle_.id()); }

Kind Dataset::kind() const {
  Handle type = make(H5Dget_type(handle_.id()), "get type of " + where(handle_.id()));
  switch (H5Tget_class(type.id())) {
    case H5T_INTEGER: return Kind::Int64;
    case H5T_FLOAT: return Kind::Float64;
    case H5T_STRING: return Kind::Text;
    default: throw RuntimeFailure(where(handle_.id()) + " has a type corescope does not read");
  }
}

void Dataset::write(std::size_t offset, const Values& values) const {
  const std::size_t count = std::visit([](const auto& v) { return v.size(); }, values);
  if (count == 0) return;
  const Kind kind = kind_of_values(values);
  if (kind != this->kind())
    throw RuntimeFailure("cannot write " + std::string(kind_name(kind)) + " values to " +
                         where(handle_.id()) + ", which holds " + kind_name(this->kind()));
  const std::string what = "write " + std::to_string(count) + " rows to " + where(handle_.id());
  Handle file_space = select_rows(handle_.id(), offset, count);
  Handle mem_space = memory_space(count);
  Handle mem_type = memory_type(kind);
  if (kind == Kind::Text) {
    const auto& text = std::get<std::vector<std::string>>(values);
    std::vector<const char*> pointers(text.size());
    std::transform(text.begin(), text.end(), pointers.begin(),
                   [](const std::string& s) { return s.c_str(); });
    check(H5Dwrite(handle_.id(), mem_type.id(), mem_space.id(), file_space.id(), H5P_DEFAULT,
                   pointers.data()),
          what);
  } else {
    const void* data = std::visit([](const auto& v) -> const void* { return v.data(); }, values);
    check(H5Dwrite(handle_.id(), mem_type.id(), mem_space.id(), file_space.id(), H5P_DEFAULT, data),
          what);
  }
}

Values Dataset::read() const {
  const std::string what = "read " + where(handle_.id());
  const Kind kind = this->kind();
  const std::size_t n = size();
  if (n == 0) return empty_values(kind);
  if (kind == Kind::Int64) {
    std::vector<Int> v(n);
    check(H5Dread(handle_.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), what);
    return v;
  }
  if (kind == Kind::Float64) {
    std::vector<double> v(n);
    check(H5Dread(handle_.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), what);
    return v;
  }
  Handle type = make(H5Dget_type(handle_.id()), what);
  std::vector<std::string> text(n);
  if (check(H5Tis_variable_str(type.id()), what) > 0) {
    Handle mem = vlen_text_type();
    Handle space = make(H5Dget_space(handle_.id()), what);
    std::vector<char*> pointers(n, nullptr);
    check(H5Dread(handle_.id(), mem.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), what);
    for (std::size_t i = 0; i < n; ++i)
      if (pointers[i]) text[i] = pointers[i];
    H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, pointers.data());
  } else {
    // Fixed-length text from other writers: NUL- or space-padded.
    const std::size_t width = H5Tget_size(type.id());
    std::vector<char> buffer(n * width);
    check(H5Dread(handle_.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), what);
    const bool spaces = H5Tget_strpad(type.id()) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < n; ++i) {
      const char* s = buffer.data() + i * width;
      std::string value(s, strnlen(s, width));
      if (spaces)
        while (!value.empty() && value.back() == ' ') value.pop_back();
      text[i] = std::move(value);
    }
  }
  return text;
}

std::vector<Field> Dataset::fields() const {
  const std::string what = "read the record type of " + where(handle_.id());
  Handle type = make(H5Dget_type(handle_.id()), what);
  if (H5Tget_class(type.id()) != H5T_COMPOUND)
    throw RuntimeFailure(where(handle_.id()) + " is not a compound dataset");
  const int members = check(H5Tget_nmembers(type.id()), what);
  std::vector<Field> fields;
  for (int i = 0; i < members; ++i) {
    const unsigned index = static_cast<unsigned>(i);
    std::unique_ptr<char, herr_t (*)(void*)> name(H5Tget_member_name(type.id(), index),
                                                  H5free_memory);
    if (!name) throw_hdf5_error(what);
    Handle member = make(H5Tget_member_type(type.id(), index), what);
    Field f{name.get(), Kind::Int64, 0};
    switch (H5Tget_class(member.id())) {
      case H5T_INTEGER: f.kind = Kind::Int64; break;
      case H5T_FLOAT: f.kind = Kind::Float64; break;
      case H5T_STRING:
        if (check(H5Tis_variable_str(member.id()), what) > 0)
          throw RuntimeFailure(where(handle_.id()) + " has a variable-length text member " +
                               f.name);
        f.kind = Kind::Text;
        f.width = H5Tget_size(member.id());
        break;
      default:
        throw RuntimeFailure(where(handle_.id()) + " has member " + f.name +
                             " of a type corescope does not read");
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

void Dataset::write_records(std::size_t offset, const std::vector<Field>& fields,
                            const std::vector<const Values*>& columns, std::size_t first,
                            std::size_t count) const {
  CS_CHECK(fields.size() == columns.size());
  if (count == 0) return;
  std::size_t record = 0;
  for (const auto& f : fields) record += field_size(f);
  std::vector<unsigned char> buffer(record * count, 0);
  std::size_t member_offset = 0;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    const Field& f = fields[c];
    const Values& values = *columns[c];
    CS_CHECK(kind_of_values(values) == f.kind);
    unsigned char* out = buffer.data() + member_offset;
    std::visit(
        [&](const auto& v) {
          CS_CHECK(first + count <= v.size());
          using T = typename std::decay_t<decltype(v)>::value_type;
          for (std::size_t r = 0; r < count; ++r, out += record) {
            if constexpr (std::is_same_v<T, std::string>) {
              const std::string& s = v[first + r];
              CS_CHECK(s.size() <= f.width);
              std::memcpy(out, s.data(), s.size());
            } else {
              std::memcpy(out, &v[first + r], sizeof(T));
            }
          }
        },
        values);
    member_offset += field_size(f);
  }
  const std::string what = "write " + std::to_string(count) + " records to " + where(handle_.id());
  Handle file_space = select_rows(handle_.id(), offset, count);
  Handle mem_space = memory_space(count);
  Handle mem_type = compound_type(fields, true);
  check(H5Dwrite(handle_.id(), mem_type.id(), mem_space.id(), file_space.id(), H5P_DEFAULT,
                 buffer.data()),
        what);
}

std::vector<Values> Dataset::read_records() const {
  const std::vector<Field> fields = this->fields();
  const std::size_t n = size();
  std::vector<Values> columns;
  for (const auto& f : fields) columns.push_back(empty_values(f.kind));
  if (n == 0 || fields.empty()) return columns;
  std::size_t record = 0;
  for (const auto& f : fields) record += field_size(f);
  std::vector<unsigned char> buffer(record * n);
  Handle mem_type = compound_type(fields, true);
  check(H5Dread(handle_.id(), mem_type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
        "read records of " + where(handle_.id()));
  std::size_t member_offset = 0;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    const Field& f = fields[c];
    const unsigned char* in = buffer.data() + member_offset;
    std::visit(
        [&](auto& v) {
          using T = typename std::decay_t<decltype(v)>::value_type;
          v.resize(n);
          for (std::size_t r = 0; r < n; ++r, in += record) {
            if constexpr (std::is_same_v<T, std::string>) {
              const char* s = reinterpret_cast<const char*>(in);
              v[r].assign(s, strnlen(s, f.width));
            } else {
              std::memcpy(&v[r], in, sizeof(T));
            }
          }
        },
        columns[c]);
    member_offset += field_size(f);
  }
  return columns;
}

void Dataset::make_scale(const std::string& dimension) const {
  check(H5DSset_scale(handle_.id(), dimension.c_str()),
        "make " + where(handle_.id()) + " a dimension scale");
}

void Dataset::attach_scale(const Dataset& scale) const {
  check(H5DSattach_scale(handle_.id(), scale.handle().id(), 0),
        "attach dimension scale " + scale.path() + " to " + where(handle_.id()));
}

bool Dataset::is_scale() const {
  return check(H5DSis_scale(handle_.id()),
               "check whether " + where(handle_.id()) + " is a dimension scale") > 0;
}

}  // namespace corescope::record::h5

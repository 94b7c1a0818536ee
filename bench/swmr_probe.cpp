// What HDF5's single-writer/multiple-reader mode gives an in-place append, as a probe for the
// record layer's design (docs/dev/record-write-path.md), run by bench/swmr_crash.sh; not used by
// corescope itself.
//   swmr_probe create FILE fixed|vl|plain   a file with a text and a float64 column, chunked
//       (4096 rows), extendible, deflated; fixed and vl: the 1.10 format, text of fixed or
//       variable length; plain: the oldest format HDF5 writes (no status flags), fixed text
//   swmr_probe append FILE K           appends rows "row N" / N forever, one row at a time,
//       flushing the file every K rows; in SWMR write mode unless the file is plain
// Exit codes: 0 done, 1 bad arguments, 3 an HDF5 call failed.
#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

hid_t text_type(bool variable) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, variable ? H5T_VARIABLE : 32);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

hid_t file_access(bool swmr) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (swmr) H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  return fapl;
}

int fail(const char* what) {
  std::fprintf(stderr, "swmr_probe: %s failed\n", what);
  return 3;
}

int create(const char* path, const std::string& kind) {
  const bool variable = kind == "vl";
  const hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, file_access(kind != "plain"));
  if (f < 0) return fail("H5Fcreate");
  hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 4096;
  const hid_t space = H5Screate_simple(1, &zero, &unlimited);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &chunk);
  H5Pset_deflate(dcpl, 4);
  const hid_t s = H5Dcreate2(f, "text", text_type(variable), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const hid_t x = H5Dcreate2(f, "value", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (s < 0 || x < 0) return fail("H5Dcreate2");
  H5Dclose(s);
  H5Dclose(x);
  return H5Fclose(f) < 0 ? fail("H5Fclose") : 0;
}

// Writes one element at row n of a 1-D dataset, growing it to n + 1 rows.
bool write_row(hid_t ds, hid_t type, hsize_t n, const void* value) {
  const hsize_t rows = n + 1, one = 1;
  if (H5Dset_extent(ds, &rows) < 0) return false;
  const hid_t space = H5Dget_space(ds);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &n, nullptr, &one, nullptr);
  const hid_t memory = H5Screate_simple(1, &one, nullptr);
  const bool ok = H5Dwrite(ds, type, memory, space, H5P_DEFAULT, value) >= 0;
  H5Sclose(memory);
  H5Sclose(space);
  return ok;
}

int append(const char* path, long every) {
  const hid_t f = H5Fopen(path, H5F_ACC_RDWR, file_access(false));
  if (f < 0) return fail("H5Fopen");
  unsigned super = 0;
  H5F_info2_t info;
  if (H5Fget_info2(f, &info) >= 0) super = info.super.version;
  if (super >= 3 && H5Fstart_swmr_write(f) < 0) return fail("H5Fstart_swmr_write");
  const hid_t s = H5Dopen2(f, "text", H5P_DEFAULT), x = H5Dopen2(f, "value", H5P_DEFAULT);
  const hid_t type = H5Dget_type(s);
  const bool variable = H5Tis_variable_str(type) > 0;
  char text[32];
  for (hsize_t n = 0;; ++n) {
    std::snprintf(text, sizeof text, "row %llu", static_cast<unsigned long long>(n));
    const char* pointer = text;
    const double value = static_cast<double>(n);
    if (!write_row(s, type, n, variable ? static_cast<const void*>(&pointer) : text))
      return fail("text row");
    if (!write_row(x, H5T_NATIVE_DOUBLE, n, &value)) return fail("value row");
    if ((n + 1) % static_cast<hsize_t>(every) == 0 && H5Fflush(f, H5F_SCOPE_LOCAL) < 0)
      return fail("H5Fflush");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "create") == 0) return create(argv[2], argv[3]);
  if (argc == 4 && std::strcmp(argv[1], "append") == 0 && std::atol(argv[3]) > 0)
    return append(argv[2], std::atol(argv[3]));
  std::fprintf(stderr, "usage: swmr_probe create FILE fixed|vl|plain | swmr_probe append FILE K\n");
  return 1;
}

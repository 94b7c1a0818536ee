# Finds corescope's dependencies (all from Debian's packages) and decides which modes exist.
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)

# MPI is optional: without it the build still has serial, threads, gil, openmp and processes.
find_package(MPI COMPONENTS C CXX)
if(MPI_FOUND)
  option(CORESCOPE_WITH_MPI "Build the mpi and hybrid modes" ON)
else()
  option(CORESCOPE_WITH_MPI "Build the mpi and hybrid modes" OFF)
endif()
if(CORESCOPE_WITH_MPI AND NOT MPI_FOUND)
  message(FATAL_ERROR "CORESCOPE_WITH_MPI=ON but no MPI was found (apt-get install libopenmpi-dev)")
endif()

# Prefer the parallel HDF5 that matches the MPI above; Debian installs it beside the serial one.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C HL)
if(CORESCOPE_WITH_MPI AND NOT HDF5_IS_PARALLEL)
  message(WARNING "HDF5 found is not parallel (${HDF5_C_LIBRARIES}); corescope writes from one "
                  "process, so this works, but install libhdf5-openmpi-dev for the matching build")
endif()
# One interface target with the C and high-level (dimension scales) libraries.
add_library(corescope_hdf5 INTERFACE)
target_include_directories(corescope_hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(corescope_hdf5 INTERFACE ${HDF5_HL_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(corescope_hdf5 INTERFACE ${HDF5_DEFINITIONS})

find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)

if(CORESCOPE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(CORESCOPE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# /usr/bin/python3 is Debian's, which sees python3-h5py & co; a pyenv python3 first on PATH does not.
if(EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Python with h5py/pandas/xarray")
endif()
find_package(Python3 COMPONENTS Interpreter)

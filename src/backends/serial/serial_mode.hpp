// serial mode: the reference every other mode is compared against.
#pragma once
#include <memory>

#include "core/mode.hpp"

namespace corescope {
std::unique_ptr<Mode> make_serial_mode();
}

#pragma once
// The two JSON primitives our machine-readable outputs need (no JSON library is among the
// project's Debian dependencies, and these outputs are written, never parsed, here).
#include <string>

namespace restake {
std::string json_string(const std::string& s);  // quoted and escaped
std::string json_number(double x);              // shortest round-trip text; null if not finite
}  // namespace restake

#include "model/model.hpp"

#include <cmath>

namespace restake {

const char* to_string(LossCause c) {
  switch (c) {
    case LossCause::BeaconSlashing: return "beacon_slashing";
    case LossCause::AvsSlashing: return "avs_slashing";
    case LossCause::AvsFaultySlashing: return "avs_faulty_slashing";
    case LossCause::Contract: return "contract";
    case LossCause::Bridge: return "bridge";
    case LossCause::CascadeAttack: return "cascade_attack";
    case LossCause::Inactivity: return "inactivity";
  }
  return "?";
}

const char* to_string(HolderKind k) {
  switch (k) {
    case HolderKind::Lrt: return "lrt";
    case HolderKind::Lst: return "lst";
    case HolderKind::Native: return "native";
  }
  return "?";
}

const char* to_string(Asset a) { return a == Asset::Btc ? "BTC" : "ETH"; }

double Holder::value() const {
  double v = 0.0;
  for (const auto& p : positions) v += p.stake;
  return v;
}

double rate_from_annual_probability(double p) { return -std::log1p(-p); }

}  // namespace restake

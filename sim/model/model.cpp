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
    case LossCause::KeyCompromise: return "key_compromise";
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

double Protocol::escrow_end(double day) const {
  // Symbiotic: a withdrawal requested in epoch k is claimable once epoch k + 1 has ended.
  if (epoch_days > 0.0) return (std::floor(day / epoch_days) + 2.0) * epoch_days;
  return day + escrow_days;
}

double rate_from_annual_probability(double p) { return -std::log1p(-p); }

}  // namespace restake

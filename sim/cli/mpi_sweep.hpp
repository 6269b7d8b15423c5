#pragma once
// `mpirun -n R restake-sim sweep ...` in a build with -DRESTAKE_MPI=ON (docs/cluster.md, MPI): the
// ranks share the sweep's work units (point, block of trials). Rank 0 hands units out on request,
// feeds every point's blocks to the tally and the writer strictly in trial order and is the only
// rank that writes; the other ranks compute blocks. The file is bit for bit the file a single
// process writes. Only compiled with RESTAKE_MPI; the core library stays MPI-free.
#include "sweep_command.hpp"

namespace restake {

// MPI_Init / MPI_Finalize for the lifetime of the object (only when launched(): under mpirun or srun).
class MpiSession {
 public:
  // True when the process was started by an MPI launcher (OpenMPI's mpirun, PMI or PMIx: srun).
  static bool launched();
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// The sweep over size() > 1 ranks; every rank calls it and gets its exit code. With one rank, run
// the ordinary sweep instead (it computes locally).
int run_sweep_mpi(const SweepArgs& args, const MpiSession& mpi);

}  // namespace restake

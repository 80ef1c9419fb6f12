"""Model-free checks of a dataset's images: perceptual hashes and near-duplicate groups."""

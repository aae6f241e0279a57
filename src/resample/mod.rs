//! Resampling between meshes and the latent grid (to be written).

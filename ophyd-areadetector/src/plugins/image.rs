//! [`ImagePlugin`]: NDStdArrays, the last array in a PV.

use ophyd_core::{Error, Result, Signal};

use crate::plugin_base;

plugin_base! {
    /// ophyd's `ImagePlugin` (NDStdArrays): the last array it received,
    /// flattened row by row, in `ArrayData`. [`ImagePlugin::image`] gives it
    /// with its shape (ophyd's `image` property).
    pub struct ImagePlugin {
        /// `ArrayData`: the last array's elements, row by row.
        #[component(suffix = "ArrayData", kind = "omitted")]
        pub array_data: ophyd_epics::EpicsSignal<Vec<f64>>,
    }
}

/// An array with its shape, as [`ImagePlugin::image`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// The shape, slowest dimension first: `[height, width]`, or
    /// `[depth, height, width]` for colour.
    pub shape: Vec<usize>,
    /// The elements, row by row.
    pub pixels: Vec<f64>,
}

impl Image {
    /// The element at row `y`, column `x` of a two-dimensional image.
    pub fn at(&self, x: usize, y: usize) -> Option<f64> {
        let &[height, width] = self.shape.as_slice() else { return None };
        (x < width && y < height).then(|| self.pixels[y * width + x])
    }
}

impl ImagePlugin {
    /// The last array, reshaped by `array_size` (ophyd's `image`): `[height,
    /// width]`, or `[depth, height, width]` when the depth is not 0. An
    /// error when the plugin has received no array yet (its size is all
    /// zeros: array callbacks off), or `ArrayData` holds fewer elements
    /// than the size says.
    pub async fn image(&self) -> Result<Image> {
        let (depth, height, width) =
            futures::try_join!(self.array_size.depth.get(), self.array_size.height.get(), self.array_size.width.get())?;
        let what = || format!("the image of `{}`", self.name());
        let dims = [depth, height, width].map(|d| usize::try_from(d).unwrap_or(0));
        if dims == [0, 0, 0] {
            return Err(Error::Failed {
                what: what(),
                reason: "its array size is 0 x 0 x 0: it has received no array (are the camera's array callbacks on, and the plugin enabled?)".into(),
            });
        }
        let shape: Vec<usize> = if dims[0] == 0 { dims[1..].to_vec() } else { dims.to_vec() };
        let count: usize = shape.iter().product();
        let mut pixels = self.array_data.get().await?;
        if pixels.len() < count {
            return Err(Error::Failed {
                what: what(),
                reason: format!(
                    "ArrayData holds {} elements, fewer than the {count} of its size {shape:?}: check the IOC's NELEMENTS",
                    pixels.len()
                ),
            });
        }
        pixels.truncate(count);
        Ok(Image { shape, pixels })
    }
}

//! [`DeviceVector`]: N identical children declared once, from a template
//! that gives each its name and PV suffix from its number (ophyd's
//! `DynamicDeviceComponent`, ophyd-async's `DeviceVector`).

use std::ops::Index;
use std::sync::Arc;

use crate::component::{Component, DynComponent, DynDevice, SuffixOptional};
use crate::connect::{ConnectCtx, PendingConnect};
use crate::data::{DataKey, Reading};
use crate::derive_support::{self, gather_child, Gathering};
use crate::device::{device_hints_into, Device};
use crate::gather::Gather;
use crate::kind::Kind;
use crate::meta::{ComponentSpec, DeviceMeta};

/// The names and PV suffixes of a [`DeviceVector`]'s children, one entry
/// per child, made from their numbers: `#[component(vector(count = 32,
/// suffix = ".S{}", attr = "chan{}"))]` makes `chan1`..`chan32` and
/// `.S1`..`.S32`, numbered from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorTemplate {
    /// The first child's number; the others follow it.
    pub first: usize,
    /// Each child's attribute name, in order (`"chan1"`).
    pub attrs: &'static [&'static str],
    /// Each child's PV suffix (for a sub-device, its prefix after the
    /// parent's), in order (`".S1"`).
    pub suffixes: &'static [&'static str],
}

/// Identical children built from a [`VectorTemplate`], looked up by the
/// number their names were made with: `channels[1]` is `chan1`, on `.S1`.
/// The vector is a sub-device of kind normal, named after its field
/// (`scaler_channels`), with the prefix of its parent; each child is named
/// `<vector>_<attr>` and has the declared `kind`, as ophyd's
/// `DynamicDeviceComponent` makes them. It reads, describes, stages and
/// looks up like any device.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_core::DeviceVector;
///
/// #[derive(Device)]
/// struct Scaler {
///     // ophyd's EpicsScaler: `DDCpt(_scaler_fields(EpicsSignalRO, "chan", ".S", range(1, 33), kind=Kind.hinted))`
///     #[component(vector(count = 32, suffix = ".S{}", attr = "chan{}"), kind = "hinted")]
///     channels: DeviceVector<SoftSignal<i32>>,
/// }
///
/// let scaler = Scaler::new("XF:sc1", "scaler");
/// assert_eq!(scaler.channels.len(), 32);
/// assert_eq!(scaler.channels[1].name(), "scaler_channels_chan1"); // by its number, as ophyd-async
/// assert_eq!(scaler.lookup("channels.chan32")?.name(), "scaler_channels_chan32");
/// let hints = scaler.hints().fields;
/// assert_eq!((hints.len(), hints[0].as_str()), (32, "scaler_channels_chan1"));
/// # Ok(()) }
/// ```
pub struct DeviceVector<C> {
    meta: Arc<DeviceMeta>,
    first: usize,
    attrs: &'static [&'static str],
    children: Vec<C>,
}

impl<C: Component> DeviceVector<C> {
    /// The vector `spec` declares (its name from the field, its prefix its
    /// parent's, unless `spec` gives a suffix or a whole PV), with one child
    /// per entry of `template`, each of `spec`'s kind and `put_complete`.
    ///
    /// # Panics
    /// If `template` has not as many suffixes as attribute names.
    pub fn from_template(spec: &ComponentSpec<'_>, template: &VectorTemplate) -> Self {
        assert_eq!(
            template.attrs.len(),
            template.suffixes.len(),
            "a vector template needs one suffix per attribute name"
        );
        // The vector itself is a plain sub-device, as ophyd's
        // DynamicDeviceComponent; the kind declared is its children's.
        let meta = DeviceMeta::child(&ComponentSpec { kind: Kind::Normal, named_after_parent: false, ..*spec });
        let children = template
            .attrs
            .iter()
            .zip(template.suffixes)
            .map(|(attr, suffix)| {
                C::build(&ComponentSpec {
                    parent: &meta,
                    attr,
                    suffix,
                    pv: None,
                    kind: spec.kind,
                    put_complete: spec.put_complete,
                    named_after_parent: false,
                })
            })
            .collect();
        DeviceVector { meta, first: template.first, attrs: template.attrs, children }
    }
}

impl<C> DeviceVector<C> {
    /// The vector's name: the stem of its children's data keys.
    pub fn name(&self) -> &str {
        self.meta.name()
    }

    /// How many children it has.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The child numbered `key` (`chan3` is 3), if there is one.
    pub fn get(&self, key: usize) -> Option<&C> {
        self.children.get(key.checked_sub(self.first)?)
    }

    /// The children's numbers, in order.
    pub fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.first..self.first + self.children.len()
    }

    /// The children, in order.
    pub fn values(&self) -> impl Iterator<Item = &C> {
        self.children.iter()
    }

    /// Each child with its number, in order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &C)> {
        self.keys().zip(&self.children)
    }

    /// The children's attribute names, in order (`"chan1"`, ...).
    pub fn attrs(&self) -> &'static [&'static str] {
        self.attrs
    }
}

impl<C> Index<usize> for DeviceVector<C> {
    type Output = C;

    /// The child numbered `key`.
    ///
    /// # Panics
    /// If there is none, naming the numbers there are.
    fn index(&self, key: usize) -> &C {
        self.get(key).unwrap_or_else(|| {
            panic!(
                "`{}` has no child numbered {key}: its children are numbered {}..={}",
                self.meta.name(),
                self.first,
                (self.first + self.children.len()).saturating_sub(1)
            )
        })
    }
}

impl<'v, C> IntoIterator for &'v DeviceVector<C> {
    type Item = (usize, &'v C);
    type IntoIter = Box<dyn Iterator<Item = (usize, &'v C)> + 'v>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<C: Component> DeviceVector<C> {
    fn gather<'a, G: Gathering>(&'a self, out: &mut Gather<'a, G::Entry>) {
        for child in &self.children {
            gather_child::<G, C>(child, out);
        }
    }
}

impl<C: Component> Component for DeviceVector<C> {
    /// # Panics
    /// Always: a vector is built from its template
    /// ([`DeviceVector::from_template`]), which `#[component(vector(..))]`
    /// gives.
    fn build(spec: &ComponentSpec<'_>) -> Self {
        panic!(
            "the DeviceVector `{}` of `{}` was built without its template: declare it with \
             `#[component(vector(count = .., suffix = \"..{{}}\", attr = \"..{{}}\"))]`, \
             or build it with `DeviceVector::from_template`",
            spec.attr,
            spec.parent.name()
        )
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.gather::<derive_support::Readings>(out)
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.gather::<derive_support::DataKeys>(out)
    }

    fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.gather::<derive_support::ConfigReadings>(out)
    }

    fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.gather::<derive_support::ConfigDataKeys>(out)
    }

    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        for child in &self.children {
            child.collect_connects(ctx, out);
        }
    }
}

impl<C: Component> DynComponent for DeviceVector<C> {
    crate::meta_accessors!(meta);

    fn hints_into(&self, out: &mut Vec<String>) {
        device_hints_into(self, out)
    }

    fn as_device(&self) -> Option<&dyn DynDevice> {
        Some(self)
    }
}

impl<C: Component> DynDevice for DeviceVector<C> {
    fn meta(&self) -> &Arc<DeviceMeta> {
        &self.meta
    }

    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)> {
        self.attrs.iter().copied().zip(self.children.iter().map(|c| c as &dyn DynComponent)).collect()
    }

    fn component(&self, attr: &str) -> Option<&dyn DynComponent> {
        let i = self.attrs.iter().position(|a| *a == attr)?;
        Some(&self.children[i])
    }

    crate::device_behaviours!();
}

impl<C: Component> Device for DeviceVector<C> {
    fn component_names(&self) -> &'static [&'static str] {
        self.attrs
    }
}

// ophyd's defaults: staging stages the children that are devices, a
// trigger is done at once, a stop stops the children.
#[diagnostic::do_not_recommend]
impl<C: Component> crate::implement::UnlessDeviceCustomStage for DeviceVector<C> {}
#[diagnostic::do_not_recommend]
impl<C: Component> crate::implement::UnlessDeviceCustomTrigger for DeviceVector<C> {}
#[diagnostic::do_not_recommend]
impl<C: Component> crate::implement::UnlessDeviceCustomStop for DeviceVector<C> {}

#[diagnostic::do_not_recommend]
impl<C> SuffixOptional for DeviceVector<C> {}

/// A vector declared `put_complete` passes it to children that can take it.
#[diagnostic::do_not_recommend]
impl<C: crate::implement::PutComplete> crate::implement::PutComplete for DeviceVector<C> {}

/// How the derive builds a `#[component(vector(..))]` field.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the children `vector(..)` declares",
    label = "declared `vector(..)`",
    note = "`vector(count = .., suffix = \"..{{}}\")` builds children from a template: \
            the field must be a `DeviceVector<C>`, e.g. `channels: DeviceVector<EpicsSignalRO<i32>>`"
)]
pub trait FromTemplate: Component {
    /// [`DeviceVector::from_template`].
    fn from_template(spec: &ComponentSpec<'_>, template: &VectorTemplate) -> Self;
}

impl<C: Component> FromTemplate for DeviceVector<C> {
    fn from_template(spec: &ComponentSpec<'_>, template: &VectorTemplate) -> Self {
        DeviceVector::from_template(spec, template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soft::SoftSignal;

    fn vector(kind: Kind) -> (Arc<DeviceMeta>, DeviceVector<SoftSignal<i32>>) {
        let parent = DeviceMeta::root("XF:sc1", "scaler");
        let spec = ComponentSpec {
            parent: &parent,
            attr: "channels",
            suffix: "",
            pv: None,
            kind,
            put_complete: false,
            named_after_parent: false,
        };
        let template =
            VectorTemplate { first: 1, attrs: &["chan1", "chan2", "chan3"], suffixes: &[".S1", ".S2", ".S3"] };
        let channels = DeviceVector::from_template(&spec, &template);
        (parent, channels)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn children_are_named_after_the_vector_and_numbered_from_the_first_key() {
        let (_parent, channels) = vector(Kind::Hinted);
        assert_eq!((channels.name(), channels.prefix(), channels.len()), ("scaler_channels", "XF:sc1", 3));
        assert_eq!(channels.keys().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(channels[2].name(), "scaler_channels_chan2");
        assert!(channels.get(0).is_none() && channels.get(4).is_none());
        assert_eq!(channels.lookup("chan3").unwrap().name(), "scaler_channels_chan3");
        assert_eq!(channels.kind(), Kind::Normal.for_device());
        assert_eq!(channels[1].kind(), Kind::Hinted);
        assert_eq!(
            channels.hints().fields,
            ["scaler_channels_chan1", "scaler_channels_chan2", "scaler_channels_chan3"]
        );
        let read = channels.read().await.unwrap();
        assert_eq!(
            read.keys().collect::<Vec<_>>(),
            ["scaler_channels_chan1", "scaler_channels_chan2", "scaler_channels_chan3"]
        );
        assert!(channels.read_configuration().await.unwrap().is_empty());
    }

    #[test]
    #[should_panic(expected = "has no child numbered 7: its children are numbered 1..=3")]
    fn indexing_a_number_it_does_not_have_names_the_numbers_it_has() {
        let (_parent, channels) = vector(Kind::Normal);
        let _ = &channels[7];
    }
}

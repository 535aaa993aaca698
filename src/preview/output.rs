//! What a generator produces: facts and preview items (thumbnails, waveform, peaks,
//! clip, low-poly mesh).

use std::collections::BTreeMap;

/// Extracted facts, by name: `width`, `height`, `channels`, `bit_depth`,
/// `mip_count`, `compression`, `duration_s`, `sample_rate`, `codec`, `vertices`,
/// `triangles`, `bbox_min`… Sorted by key, so encoding is deterministic.
pub type Facts = BTreeMap<String, serde_json::Value>;

/// What an item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A picture of the asset (PNG), at a level: its longest side in pixels.
    Thumbnail,
    /// A picture of an audio file's amplitude over time (PNG).
    Waveform,
    /// Per-window minimum and maximum sample values (see `store-format.md` §17).
    Peaks,
    /// A short low-rate excerpt of an audio file (WAV or FLAC).
    Clip,
    /// A decimated mesh (GLB).
    LowPoly,
    /// A downsampled variant other than a thumbnail.
    LowRes,
}

impl Role {
    /// All roles, in their numeric order.
    pub const ALL: [Role; 6] = [
        Role::Thumbnail,
        Role::Waveform,
        Role::Peaks,
        Role::Clip,
        Role::LowPoly,
        Role::LowRes,
    ];

    /// Roles whose items are pictures (PNG), most telling first: what an asset's
    /// primary picture is, see [`Role::primary_picture`].
    pub const PICTURES: [Role; 2] = [Role::Thumbnail, Role::Waveform];

    /// The role of an asset's primary picture among the roles its preview has: the
    /// thumbnail (images, models, `.blend` files, cards), else the waveform (audio);
    /// `None` when it has neither.
    pub fn primary_picture(have: impl IntoIterator<Item = Role>) -> Option<Role> {
        let have: Vec<Role> = have.into_iter().collect();
        Role::PICTURES.into_iter().find(|r| have.contains(r))
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Role::Thumbnail => "thumbnail",
            Role::Waveform => "waveform",
            Role::Peaks => "peaks",
            Role::Clip => "clip",
            Role::LowPoly => "lowpoly",
            Role::LowRes => "lowres",
        }
    }

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The number stored in preview objects.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The role stored as `code`.
    pub fn from_code(code: u8) -> Option<Role> {
        Role::ALL.get(code as usize).copied()
    }
}

/// One output of a generator.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// What it is.
    pub role: Role,
    /// For thumbnails, the level (longest side, px) it was made for; for waveforms
    /// the image width; 0 for the others.
    pub level: u32,
    /// MIME type of `bytes`: `image/png`, `audio/wav`, `audio/flac`,
    /// `model/gltf-binary`, `application/x-gadn-peaks`.
    pub media_type: String,
    /// The encoded content.
    pub bytes: Vec<u8>,
}

/// Everything a generator made for one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    /// Extracted facts.
    pub facts: Facts,
    /// Preview items, smallest first within each role.
    pub items: Vec<Item>,
}

impl Generated {
    /// Adds a fact.
    pub fn fact(&mut self, name: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.facts.insert(name.to_string(), value.into());
        self
    }
}

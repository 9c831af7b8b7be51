//! Floats in events, non-finite ones included. JSON has no NaN or infinity: serde_json
//! writes them as `null`, which a float field cannot read back, so a run whose attention
//! snapshot held one infinite flip MSE lost that whole line. Every float field of an event
//! is therefore written through this module (`#[serde(with = "float")]`): a finite value is
//! a plain number, NaN the string `"NaN"`, the infinities `"inf"` and `"-inf"` (what Rust
//! and Python print for them; the views show them the same way). Reading takes those
//! strings, numbers, and `null` as NaN (how ferlab wrote them before).

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A float, or a container of floats, written and read as this module says.
pub trait Lenient: Sized {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

pub fn serialize<T: Lenient, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    value.put(s)
}

pub fn deserialize<'de, T: Lenient, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::take(d)
}

/// How a non-finite value is written (and read back).
fn non_finite_text(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

struct Put<'a, T>(&'a T);

impl<T: Lenient> Serialize for Put<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.put(s)
    }
}

struct Take<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Take<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::take(d).map(Take)
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "Infinity" | "+inf" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }

    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
}

impl Lenient for f64 {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f64(*self)
        } else {
            s.serialize_str(non_finite_text(*self))
        }
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FloatVisitor)
    }
}

impl Lenient for f32 {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f32(*self)
        } else {
            s.serialize_str(non_finite_text(*self as f64))
        }
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As serde reads an f32 from JSON: the number as f64, then rounded.
        f64::take(d).map(|v| v as f32)
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => s.serialize_some(&Put(v)),
            None => s.serialize_none(),
        }
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<Take<T>>::deserialize(d)?.map(|t| t.0))
    }
}

impl<T: Lenient> Lenient for Vec<T> {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Put))
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Take<T>>::deserialize(d)?
            .into_iter()
            .map(|t| t.0)
            .collect())
    }
}

impl<T: Lenient> Lenient for (T, T) {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Put(&self.0), Put(&self.1)).serialize(s)
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (a, b) = <(Take<T>, Take<T>)>::deserialize(d)?;
        Ok((a.0, b.0))
    }
}

impl<T: Lenient> Lenient for BTreeMap<String, T> {
    fn put<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k, Put(v))))
    }

    fn take<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<String, Take<T>>::deserialize(d)?
            .into_iter()
            .map(|(k, t)| (k, t.0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        a: f32,
        #[serde(with = "super")]
        b: Vec<Option<f32>>,
        #[serde(with = "super")]
        c: (f32, f32),
        #[serde(with = "super")]
        d: BTreeMap<String, f64>,
        #[serde(with = "super", default)]
        e: Option<f64>,
    }

    #[test]
    fn non_finite_values_round_trip_and_finite_ones_stay_numbers() {
        let s = Sample {
            a: f32::INFINITY,
            b: vec![Some(f32::NAN), None, Some(0.1)],
            c: (f32::NEG_INFINITY, 2.5),
            d: [("x".to_string(), f64::NAN), ("y".to_string(), 1e300)].into(),
            e: Some(f64::INFINITY),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(
            text,
            r#"{"a":"inf","b":["NaN",null,0.1],"c":["-inf",2.5],"d":{"x":"NaN","y":1e+300},"e":"inf"}"#
        );
        let back: Sample = serde_json::from_str(&text).unwrap();
        assert_eq!(back.a, f32::INFINITY);
        assert!(back.b[0].unwrap().is_nan());
        assert_eq!(back.b[1], None);
        assert_eq!(back.b[2], Some(0.1));
        assert_eq!(back.c, (f32::NEG_INFINITY, 2.5));
        assert!(back.d["x"].is_nan());
        assert_eq!(back.e, Some(f64::INFINITY));
    }

    #[test]
    fn the_null_earlier_versions_wrote_reads_as_nan_and_a_missing_option_as_none() {
        let back: Sample = serde_json::from_str(r#"{"a":null,"b":[],"c":[1,2],"d":{}}"#).unwrap();
        assert!(back.a.is_nan());
        assert_eq!(back.e, None);
        let bad = serde_json::from_str::<Sample>(r#"{"a":"lots","b":[],"c":[1,2],"d":{}}"#)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("\"NaN\", \"inf\" or \"-inf\""), "{bad}");
    }
}

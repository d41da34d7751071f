//! Simulated readings: a temperature and a humidity that drift smoothly
//! (a sine without libm: Bhaskara's approximation) with a little noise.

pub struct Sensor {
    step: u32,
    noise: u32,
}

/// sin(x) for x in [0, pi], within 0.2 %.
fn half_sine(x: f32) -> f32 {
    const PI: f32 = core::f32::consts::PI;
    let p = x * (PI - x);
    16.0 * p / (5.0 * PI * PI - 4.0 * p)
}

/// sin over a full period, `phase` in [0, 1).
fn sine(phase: f32) -> f32 {
    const PI: f32 = core::f32::consts::PI;
    if phase < 0.5 { half_sine(phase * 2.0 * PI) } else { -half_sine((phase - 0.5) * 2.0 * PI) }
}

impl Sensor {
    pub fn new() -> Self {
        Self { step: 0, noise: 0x2545_f491 }
    }

    /// The next (temperature °C, relative humidity %).
    pub fn next(&mut self) -> (f32, f32) {
        self.step = self.step.wrapping_add(1);
        // xorshift32
        self.noise ^= self.noise << 13;
        self.noise ^= self.noise >> 17;
        self.noise ^= self.noise << 5;
        let jitter = (self.noise % 1000) as f32 / 1000.0 - 0.5;
        let phase = (self.step % 120) as f32 / 120.0;
        let temperature = 21.0 + 2.5 * sine(phase) + 0.2 * jitter;
        let humidity = 45.0 + 8.0 * sine((phase + 0.3) % 1.0) - 0.4 * jitter;
        (temperature, humidity)
    }
}

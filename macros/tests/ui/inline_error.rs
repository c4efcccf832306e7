nnspec_macros::model!(
    r#"
model Lin {
    input  x : ℝ
    param  φ_0 : ℝ, φ_1 : ℝ
    f[x, φ] = φ_0 + φ_2 x
}
"#
);

fn main() {}

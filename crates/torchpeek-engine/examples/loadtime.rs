use torchpeek::source::MemSource;
use torchpeek::source::Source;
fn main() {
    let name = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(10);
    let dir = "/work/main/target/bench-models";
    let model = std::fs::read(format!("{dir}/{name}.onnx")).unwrap();
    let data = std::fs::read(format!("{dir}/{name}.onnx.data")).ok();
    let base = name.split('.').next().unwrap();
    let input = std::fs::read(format!("{dir}/{base}.input0.npy")).unwrap();
    let mut loads = vec![];
    let mut firsts = vec![];
    for _ in 0..n {
        let m = MemSource::new(format!("{name}.onnx"), &model);
        let dname = format!("{name}.onnx.data");
        let d = data.as_ref().map(|d| MemSource::new(dname.clone(), d));
        let mut srcs: Vec<&dyn Source> = vec![&m];
        if let Some(d) = &d { srcs.push(d); }
        let t0 = std::time::Instant::now();
        let mut s = torchpeek_engine::Session::load(&srcs).unwrap();
        let t1 = t0.elapsed().as_secs_f64() * 1e3;
        let arr = torchpeek_engine::npy::read("x", &input[..]).unwrap();
        let t0 = std::time::Instant::now();
        s.run(vec![arr]).unwrap();
        firsts.push(t0.elapsed().as_secs_f64() * 1e3);
        loads.push(t1);
    }
    loads.sort_by(|a, b| a.partial_cmp(b).unwrap());
    firsts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name}: load {:.1} ms first {:.1} ms", loads[n / 2], firsts[n / 2]);
}

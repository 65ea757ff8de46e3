// Entry point (being written).
public enum GraftMain {
    public static func main() {}
}

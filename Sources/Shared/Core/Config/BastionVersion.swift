/// The version every binary reports.
public enum BastionVersion {
    public static let current = "0.1.0"
}

extension AUCReport {
    /// The TSV lines of the options added after the first release of `graft auc` (partial AUC,
    /// operating points, best threshold, many-model comparison), in that order.
    func extraLines(_ fixed: (Double) -> String) -> [String] {
        []
    }

    /// The JSON members of the same options.
    func extraJSONFields() -> [(String, String)] {
        []
    }
}

import GraftFeatureCache
import Foundation
import GraftNumerics
import GraftTestSupport
import Testing
@testable import GraftHead
@Suite("Training data and its errors")
struct TrainingDataTests {
    @Test("a NaN feature is refused, naming the row id and the feature")
    func nanFeature() throws {
        let cache = try FeatureCache(path: fixturePath("nan.h5"))
        do {
            _ = try LabelledFeatures(cache: cache, layer: "fc7")
            Issue.record("expected an error")
        } catch let error as HeadError {
            guard case let .nonFiniteFeature(_, id, column, value) = error, id == "img_0007.png", column == 3, value.isNaN else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("'img_0007.png'") && error.description.contains("feature 3"))
            #expect(error.exitStatus == .dataError)
        }
    }

    @Test("a cache without labels cannot train")
    func noLabels() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("unlabelled.h5")), layer: "fc7")
        #expect(rows.rowCount == 0 && rows.unlabelledCount == 20)
        #expect(throws: HeadError.noLabels(cache: fixturePath("unlabelled.h5"))) {
            _ = try HeadTrainer.train(rows, validation: nil, options: HeadTrainingOptions())
        }
    }

    @Test("a cache with one class cannot train")
    func oneClass() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("one_class.h5")), layer: "fc7")
        #expect(throws: HeadError.singleClass(cache: fixturePath("one_class.h5"), className: "dog")) {
            _ = try HeadTrainer.train(rows, validation: nil, options: HeadTrainingOptions())
        }
    }

    @Test("a layer the cache lacks is named with the layers it has")
    func unknownLayer() throws {
        let cache = try FeatureCache(path: fixturePath("multiclass.h5"))
        #expect(throws: FeatureCacheError.unknownLayer(path: fixturePath("multiclass.h5"), layer: "fc7", layers: ["block/pool"])) {
            _ = try LabelledFeatures(cache: cache, layer: "fc7")
        }
    }

    @Test("a validation cache with other classes is refused")
    func validationClasses() throws {
        let training = try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
        let validation = try LabelledFeatures(cache: FeatureCache(path: fixturePath("other_classes.h5")), layer: "block/pool")
        do {
            _ = try HeadTrainer.train(training, validation: validation, options: HeadTrainingOptions())
            Issue.record("expected an error")
        } catch let error as HeadError {
            guard case .validationMismatch(_, _, "classes", "[ant,bee,cat,eel]", "[ant,bee,cat,dog]") = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }

    @Test("the stratified split holds out round(f · n) of each class, reproducibly")
    func stratifiedSplit() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
        let split = try rows.stratifiedSplit(fraction: 0.25, seed: 3)
        #expect(split.validation.classCounts == [25, 20, 18, 13])   // 17.5 → 18, 12.5 → 13
        #expect(split.training.classCounts == [75, 60, 52, 37])
        #expect(Set(split.training.ids).isDisjoint(with: split.validation.ids))
        #expect(Set(split.training.ids + split.validation.ids) == Set(rows.ids))
        // Rows keep their features and cache order.
        let index = rows.ids.firstIndex(of: split.validation.ids[0])!
        #expect(Array(split.validation.features[0..<20]) == Array(rows.features[(index * 20)..<(index * 20 + 20)]))
        #expect(split.validation.ids == rows.ids.filter(Set(split.validation.ids).contains))
        let again = try rows.stratifiedSplit(fraction: 0.25, seed: 3)
        #expect(again.validation.ids == split.validation.ids)
        let other = try rows.stratifiedSplit(fraction: 0.25, seed: 4)
        #expect(other.validation.ids != split.validation.ids)
    }

    @Test("the seeded generator is fixed across platforms")
    func generatorSequence() {
        var generator = SeededGenerator(seed: 0)
        let first = (0..<3).map { _ in generator.next() }
        var again = SeededGenerator(seed: 0)
        #expect((0..<3).map { _ in again.next() } == first)
        var other = SeededGenerator(seed: 1)
        #expect(other.next() != first[0])
        var unit = SeededGenerator(seed: 9)
        for _ in 0..<1000 {
            let value = unit.nextUnitFloat()
            #expect(value >= 0 && value < 1)
        }
    }
}

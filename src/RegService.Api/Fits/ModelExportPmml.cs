using System.Globalization;
using System.Text;
using System.Xml;

namespace RegService.Api.Fits;

/// <summary>
/// PMML 4.4 (http://www.dmg.org/PMML-4_4) <c>GeneralRegressionModel</c> of a linear or logistic fit's returned model, on
/// the original scale: gaussian as <c>modelType="regression"</c> (identity link), binomial as
/// <c>modelType="generalizedLinear"</c>, <c>distribution="binomial"</c>, <c>linkFunction="logit"</c>, predicting
/// P(y = 1) (target category 1 against reference 0), poisson as <c>modelType="generalizedLinear"</c>,
/// <c>distribution="poisson"</c>, <c>linkFunction="log"</c>; a fit's offset column is the model's <c>offsetVariable</c>
/// (a data field of its own). The intercept is parameter p0; each nonzero coefficient a parameter
/// tied to its covariate by a PPMatrix cell; zero coefficients are left out of the matrices (PMML reads them as 0).
/// </summary>
public static class PmmlExport
{
    public const string Namespace = "http://www.dmg.org/PMML-4_4";

    /// <summary>Why this model has no PMML form here, or null when it has one.</summary>
    public static string? Unsupported(StoredModel model) =>
        model.Network is not null ? "an MLP is not a general regression model; PMML export covers linear and logistic fits"
        : model.Expansion is not null ? "an expanded fit's features are powers and products of its inputs, which this PMML export does not write"
        : null;

    public static string Write(string fitId, StoredResult stored, FitRequest request, DateTimeOffset? finishedAt)
    {
        var model = stored.Model;
        if (Unsupported(model) is { } why) throw new NotSupportedException(why);
        var target = request.Target ?? "y";
        var text = new StringBuilder();
        using (var xml = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false, Encoding = Encoding.UTF8 }))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("PMML", Namespace);
            xml.WriteAttributeString("version", "4.4");

            xml.WriteStartElement("Header");
            xml.WriteAttributeString("description", $"RegService fit {fitId}: {stored.Penalty} {model.Family} at lambda {Number(model.Lambda)}");
            xml.WriteStartElement("Application");
            xml.WriteAttributeString("name", "RegService");
            xml.WriteAttributeString("version", ModelExport.Version);
            xml.WriteEndElement();
            if (finishedAt is { } at) xml.WriteElementString("Timestamp", Namespace, at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            xml.WriteEndElement();

            xml.WriteStartElement("DataDictionary");
            var offset = request.Offset;
            xml.WriteAttributeString("numberOfFields", (model.Features.Length + 1 + (offset is null ? 0 : 1)).ToString(CultureInfo.InvariantCulture));
            foreach (var feature in model.Features) DataField(xml, feature, "continuous", "double");
            if (offset is not null) DataField(xml, offset, "continuous", "double");
            if (model.Binomial)
            {
                DataField(xml, target, "categorical", "integer", close: false);
                foreach (var value in new[] { "0", "1" })
                {
                    xml.WriteStartElement("Value");
                    xml.WriteAttributeString("value", value);
                    xml.WriteEndElement();
                }
                xml.WriteEndElement();
            }
            else DataField(xml, target, "continuous", "double");
            xml.WriteEndElement();

            xml.WriteStartElement("GeneralRegressionModel");
            xml.WriteAttributeString("modelName", $"regservice-{fitId}");
            if (model.Binomial)
            {
                xml.WriteAttributeString("modelType", "generalizedLinear");
                xml.WriteAttributeString("functionName", "classification");
                xml.WriteAttributeString("distribution", "binomial");
                xml.WriteAttributeString("linkFunction", "logit");
                xml.WriteAttributeString("targetReferenceCategory", "0");
            }
            else if (model.Poisson)
            {
                xml.WriteAttributeString("modelType", "generalizedLinear");
                xml.WriteAttributeString("functionName", "regression");
                xml.WriteAttributeString("distribution", "poisson");
                xml.WriteAttributeString("linkFunction", "log");
            }
            else
            {
                xml.WriteAttributeString("modelType", "regression");
                xml.WriteAttributeString("functionName", "regression");
            }

            if (offset is not null) xml.WriteAttributeString("offsetVariable", offset);
            xml.WriteStartElement("MiningSchema");
            MiningField(xml, target, "target");
            foreach (var feature in model.Features) MiningField(xml, feature, null);
            if (offset is not null) MiningField(xml, offset, null);
            xml.WriteEndElement();

            var used = Enumerable.Range(0, model.Features.Length).Where(j => model.Coefficients[j] != 0).ToList();
            xml.WriteStartElement("ParameterList");
            Parameter(xml, "p0", "(Intercept)");
            foreach (int j in used) Parameter(xml, $"p{j + 1}", model.Features[j]);
            xml.WriteEndElement();

            xml.WriteStartElement("CovariateList");
            foreach (var feature in model.Features)
            {
                xml.WriteStartElement("Predictor");
                xml.WriteAttributeString("name", feature);
                xml.WriteEndElement();
            }
            xml.WriteEndElement();

            xml.WriteStartElement("PPMatrix");
            foreach (int j in used)
            {
                xml.WriteStartElement("PPCell");
                xml.WriteAttributeString("value", "1");
                xml.WriteAttributeString("predictorName", model.Features[j]);
                xml.WriteAttributeString("parameterName", $"p{j + 1}");
                xml.WriteEndElement();
            }
            xml.WriteEndElement();

            xml.WriteStartElement("ParamMatrix");
            PCell(xml, "p0", model.Intercept, model.Binomial);
            foreach (int j in used) PCell(xml, $"p{j + 1}", model.Coefficients[j], model.Binomial);
            xml.WriteEndElement();

            xml.WriteEndElement();   // GeneralRegressionModel
            xml.WriteEndElement();   // PMML
            xml.WriteEndDocument();
        }
        // The StringBuilder is UTF-16; the document is sent (and declared) as UTF-8.
        return text.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }

    private static void DataField(XmlWriter xml, string name, string optype, string dataType, bool close = true)
    {
        xml.WriteStartElement("DataField");
        xml.WriteAttributeString("name", name);
        xml.WriteAttributeString("optype", optype);
        xml.WriteAttributeString("dataType", dataType);
        if (close) xml.WriteEndElement();
    }

    private static void MiningField(XmlWriter xml, string name, string? usage)
    {
        xml.WriteStartElement("MiningField");
        xml.WriteAttributeString("name", name);
        if (usage is not null) xml.WriteAttributeString("usageType", usage);
        xml.WriteEndElement();
    }

    private static void Parameter(XmlWriter xml, string name, string label)
    {
        xml.WriteStartElement("Parameter");
        xml.WriteAttributeString("name", name);
        xml.WriteAttributeString("label", label);
        xml.WriteEndElement();
    }

    private static void PCell(XmlWriter xml, string parameter, double beta, bool binomial)
    {
        xml.WriteStartElement("PCell");
        if (binomial) xml.WriteAttributeString("targetCategory", "1");
        xml.WriteAttributeString("parameterName", parameter);
        xml.WriteAttributeString("beta", Number(beta));
        xml.WriteAttributeString("df", "1");
        xml.WriteEndElement();
    }

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

"""Resolves a CloudFormation template for given parameter values, as CloudFormation would at deploy time.

The checks use it to compare a SAM template with a CDK template synthesized from the same
settings: parameter references become their values, Fn::If takes the branch its condition
selects, resources and outputs whose condition is false are left out, and Fn::Sub and Fn::Join
become plain strings. Pseudo parameters without a given value stay as `${AWS::Partition}` and so
on, so `!Sub arn:${AWS::Partition}:...` and the CDK's `Fn::Join` of the same ARN resolve to the
same string.

Only the intrinsic functions that the templates of this repository use are evaluated: Ref,
Fn::If, Fn::Sub, Fn::Join, Fn::Split, Fn::Select and the condition functions. Fn::GetAtt and
references to resources are kept as they are.
"""

import re

# Returned for `Ref: AWS::NoValue`. Lists and objects drop it, as CloudFormation drops the property.
NO_VALUE = object()

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def parameter_values(template: dict, values: dict[str, str], region: str | None = None) -> dict[str, str]:
    """Returns the template's parameter defaults overridden by values, all as strings.

    A region is added as the value of AWS::Region. Raises ValueError for a value whose parameter
    the template does not declare, so a misspelt name fails the check.
    """
    declared = template.get("Parameters", {})
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"the template declares no parameter {', '.join(unknown)}")
    resolved = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    resolved.update(values)
    if region is not None:
        resolved["AWS::Region"] = region
    return resolved


def evaluate_conditions(template: dict, parameters: dict[str, str]) -> dict[str, bool]:
    """Evaluates every entry of the template's Conditions section."""
    definitions = template.get("Conditions", {})
    results: dict[str, bool] = {}

    def evaluate(expression) -> bool:
        (function, arguments), = expression.items()
        if function == "Condition":
            if arguments not in results:
                results[arguments] = evaluate(definitions[arguments])
            return results[arguments]
        if function == "Fn::Equals":
            left, right = (resolve(argument, parameters, {}) for argument in arguments)
            return left == right
        if function == "Fn::Not":
            return not evaluate(arguments[0])
        if function == "Fn::And":
            return all(evaluate(argument) for argument in arguments)
        if function == "Fn::Or":
            return any(evaluate(argument) for argument in arguments)
        raise ValueError(f"unsupported condition function {function}")

    for name in definitions:
        evaluate({"Condition": name})
    return results


def resolve(value, parameters: dict[str, str], conditions: dict[str, bool]):
    """Resolves the intrinsic functions in value. Returns NO_VALUE for `Ref: AWS::NoValue`."""
    if isinstance(value, list):
        items = (resolve(item, parameters, conditions) for item in value)
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref":
            return resolve_ref(argument, parameters)
        if key == "Fn::If":
            condition, true_branch, false_branch = argument
            return resolve(true_branch if conditions[condition] else false_branch, parameters, conditions)
        if key == "Fn::Sub":
            return resolve_sub(argument, parameters, conditions)
        if key == "Fn::Join":
            separator, items = argument[0], resolve(argument[1], parameters, conditions)
            if isinstance(items, list) and all(isinstance(item, str) for item in items):
                return separator.join(items)
            return {"Fn::Join": [separator, items]}
        if key == "Fn::Split":
            separator, source = argument[0], resolve(argument[1], parameters, conditions)
            return source.split(separator) if isinstance(source, str) else {"Fn::Split": [separator, source]}
        if key == "Fn::Select":
            index, items = resolve(argument[0], parameters, conditions), resolve(argument[1], parameters, conditions)
            return items[int(index)] if isinstance(items, list) else {"Fn::Select": [index, items]}
    resolved = {key: resolve(item, parameters, conditions) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def resolve_ref(name: str, parameters: dict[str, str]):
    if name == "AWS::NoValue":
        return NO_VALUE
    if name in parameters:
        return parameters[name]
    if name.startswith("AWS::"):
        return "${" + name + "}"
    return {"Ref": name}


def resolve_sub(argument, parameters: dict[str, str], conditions: dict[str, bool]):
    """Substitutes the variables and parameters in an Fn::Sub string. Other references stay as `${...}`."""
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, variables = argument[0], resolve(argument[1], parameters, conditions)

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        value = variables.get(name, parameters.get(name))
        if isinstance(value, str):
            return value
        return match.group(0)

    return SUB_VARIABLE.sub(substitute, text)


def resolve_template(template: dict, values: dict[str, str], region: str | None = None) -> dict:
    """Returns the template's Resources and Outputs as CloudFormation would deploy them with values.

    values maps parameter names to values, and region is the value of AWS::Region. Resources and
    outputs whose condition is false are left out.
    """
    parameters = parameter_values(template, values, region)
    conditions = evaluate_conditions(template, parameters)

    def included(entry: dict) -> bool:
        return "Condition" not in entry or conditions[entry["Condition"]]

    return {
        "Resources": {
            logical_id: resolve(resource, parameters, conditions)
            for logical_id, resource in template["Resources"].items()
            if included(resource)
        },
        "Outputs": {
            name: resolve(output, parameters, conditions)
            for name, output in template.get("Outputs", {}).items()
            if included(output)
        },
    }


def rule_violations(template: dict, values: dict[str, str], region: str | None = None) -> list[str]:
    """Returns the names of the template's Rules whose RuleCondition is true and an assertion fails."""
    parameters = parameter_values(template, values, region)
    rules = template.get("Rules", {})
    # Each rule condition and assertion is evaluated as a named condition. A rule without
    # RuleCondition always applies.
    expressions = {}
    for name, rule in rules.items():
        expressions[f"{name}/RuleCondition"] = rule.get("RuleCondition", {"Fn::Equals": ["", ""]})
        for index, assertion in enumerate(rule["Assertions"]):
            expressions[f"{name}/Assertions/{index}"] = assertion["Assert"]
    results = evaluate_conditions({"Conditions": expressions}, parameters)
    return [
        name
        for name, rule in rules.items()
        if results[f"{name}/RuleCondition"]
        and not all(results[f"{name}/Assertions/{index}"] for index in range(len(rule["Assertions"])))
    ]

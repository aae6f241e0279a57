/*---------------------------------------------------------------------------*\
  echo-onnx: ECHO neural-operator surrogates inside OpenFOAM
-------------------------------------------------------------------------------
License
    This file is part of the echo-onnx OpenFOAM plugin.

    It is free software: you can redistribute it and/or modify it under the
    terms of the GNU General Public License as published by the Free Software
    Foundation, either version 3 of the License, or (at your option) any later
    version. See openfoam-plugin/LICENSE.

\*---------------------------------------------------------------------------*/

#include "echoSurrogate.H"
#include "echo_onnx.hpp"

#include "addToRunTimeSelectionTable.H"
#include "fvcFlux.H"
#include "globalIndex.H"
#include "labelIOList.H"
#include "surfaceFields.H"
#include "zeroGradientFvPatchFields.H"

#include <chrono>
#include <cmath>
#include <utility>
#include <sstream>
#include <vector>

// * * * * * * * * * * * * * * Static Data Members * * * * * * * * * * * * * //

namespace Foam
{
namespace functionObjects
{
    defineTypeNameAndDebug(echoSurrogate, 0);
    addToRunTimeSelectionTable(functionObject, echoSurrogate, dictionary);
}
}

const Foam::Enum<Foam::functionObjects::echoSurrogate::modeType>
Foam::functionObjects::echoSurrogate::modeTypeNames_
({
    { modeType::surrogate, "surrogate" },
    { modeType::warmStart, "warmStart" },
});


namespace
{

//- The suffix of each output's field names (echoSurrogate::outputType's order)
const char* const outputSuffix[] = {"Echo", "EchoMean", "EchoStd"};

double seconds
(
    const std::chrono::steady_clock::time_point& since
)
{
    return std::chrono::duration<double>
    (
        std::chrono::steady_clock::now() - since
    ).count();
}

//- A number for the log, with 6 significant digits
std::string fmt(double x)
{
    std::ostringstream s;
    s.precision(6);
    s << x;
    return s.str();
}

//- The protocol's collective moves (the protocol itself is echo-onnx's) over Pstream: MPI in a
//  parallel run, one rank otherwise.
class PstreamCommunicator : public echo::Communicator
{
public:
    std::size_t rank() const override { return Foam::Pstream::myProcNo(); }
    std::size_t ranks() const override { return Foam::Pstream::nProcs(); }

    std::vector<double> gather(const std::vector<double>& local) override
    {
        Foam::List<Foam::scalarList> all(Foam::Pstream::nProcs());
        all[Foam::Pstream::myProcNo()] = Foam::scalarList(local.begin(), local.end());
        Foam::Pstream::gatherList(all);
        std::vector<double> out;
        if (Foam::Pstream::master())
        {
            for (const Foam::scalarList& l : all) out.insert(out.end(), l.begin(), l.end());
        }
        return out;
    }

    std::vector<double> broadcast(const std::vector<double>& data) override
    {
        Foam::scalarList d(data.begin(), data.end());
        Foam::Pstream::scatter(d);
        return std::vector<double>(d.begin(), d.end());
    }
};

// One path for scalar and vector fields: component d of a cell value (a scalar is its own only
// component), and the copies between a field and the location-major array of all fields
// (values[i*C + c0 + d]: the field's nc components start at channel c0 of C).
inline Foam::scalar cmpt(const Foam::scalar& s, Foam::label) { return s; }
inline Foam::scalar& cmpt(Foam::scalar& s, Foam::label) { return s; }
inline Foam::scalar cmpt(const Foam::vector& v, Foam::label d) { return v[d]; }
inline Foam::scalar& cmpt(Foam::vector& v, Foam::label d) { return v[d]; }

template<class Type>
void toChannels
(
    const Foam::Field<Type>& f,
    Foam::label C,
    Foam::label c0,
    Foam::label nc,
    Foam::scalarField& out
)
{
    forAll(f, i)
    {
        for (Foam::label d = 0; d < nc; ++d)
        {
            out[i*C + c0 + d] = cmpt(f[i], d);
        }
    }
}

//- The other way, then the boundary values; the components beyond nc (z of a 2D case's
//  vectors) are zeroed with zeroRest, else left as they were.
template<class Type>
void fromChannels
(
    const Foam::scalarField& values,
    Foam::label C,
    Foam::label c0,
    Foam::label nc,
    bool zeroRest,
    Foam::GeometricField<Type, Foam::fvPatchField, Foam::volMesh>& f
)
{
    Foam::Field<Type>& v = f.primitiveFieldRef();
    forAll(v, i)
    {
        if (zeroRest)
        {
            v[i] = Foam::pTraits<Type>::zero;
        }
        for (Foam::label d = 0; d < nc; ++d)
        {
            cmpt(v[i], d) = values[i*C + c0 + d];
        }
    }
    f.correctBoundaryConditions();
}

//- The message of the IO error f raises (OpenFOAM's, for a missing or malformed entry), or empty.
template<class F>
Foam::string ioError(F&& f)
{
    const bool throwing = Foam::FatalIOError.throwExceptions();
    Foam::string message;
    try
    {
        f();
    }
    catch (const Foam::IOerror& e)
    {
        message = e.message();
    }
    Foam::FatalIOError.throwExceptions(throwing);
    return message;
}

//- The case's volScalarField or volVectorField `name`, or null when it has neither.
Foam::regIOobject* findField(const Foam::fvMesh& mesh, const Foam::word& name)
{
    if (auto* s = mesh.getObjectPtr<Foam::volScalarField>(name)) return s;
    return mesh.getObjectPtr<Foam::volVectorField>(name);
}

//- The <field>Echo field of `f`: zero, with f's dimensions, zero-gradient at the boundaries.
template<class Type>
Foam::GeometricField<Type, Foam::fvPatchField, Foam::volMesh>* echoField
(
    const Foam::IOobject& io,
    const Foam::GeometricField<Type, Foam::fvPatchField, Foam::volMesh>& f
)
{
    return new Foam::GeometricField<Type, Foam::fvPatchField, Foam::volMesh>
    (
        io,
        f.mesh(),
        Foam::dimensioned<Type>(f.dimensions(), Foam::Zero),
        Foam::zeroGradientFvPatchField<Type>::typeName
    );
}

// The same for a field as it is registered (a case field, an output): a volScalarField or a
// volVectorField, the only kinds the function object handles, so each has one code path.
void toChannels
(
    const Foam::regIOobject& f,
    Foam::label C,
    Foam::label c0,
    Foam::label nc,
    Foam::scalarField& out
)
{
    if (auto* s = dynamic_cast<const Foam::volScalarField*>(&f))
    {
        toChannels(s->primitiveField(), C, c0, nc, out);
    }
    else
    {
        toChannels(dynamic_cast<const Foam::volVectorField&>(f).primitiveField(), C, c0, nc, out);
    }
}

void fromChannels
(
    const Foam::scalarField& values,
    Foam::label C,
    Foam::label c0,
    Foam::label nc,
    bool zeroRest,
    Foam::regIOobject& f
)
{
    if (auto* s = dynamic_cast<Foam::volScalarField*>(&f))
    {
        fromChannels(values, C, c0, nc, zeroRest, *s);
    }
    else
    {
        fromChannels(values, C, c0, nc, zeroRest, dynamic_cast<Foam::volVectorField&>(f));
    }
}

Foam::regIOobject* echoField(const Foam::IOobject& io, const Foam::regIOobject& f)
{
    if (auto* s = dynamic_cast<const Foam::volScalarField*>(&f)) return echoField(io, *s);
    return echoField(io, dynamic_cast<const Foam::volVectorField&>(f));
}

} // namespace


// * * * * * * * * * * * * * Private Member Functions  * * * * * * * * * * * //

void Foam::functionObjects::echoSurrogate::fail
(
    const string& message,
    bool atRead
)
{
    if (failOnError_)
    {
        // While read() runs (which includes the first initialise(), its first snapshot, forecast
        // and warm start) only an IO error stops the run: OpenFOAM's loader turns a FatalError
        // raised while a function object is constructed into a warning and runs on without it.
        if (atRead || readDict_)
        {
            FatalIOErrorInFunction
            (
                readDict_ ? *readDict_ : mesh_.time().controlDict()
            )
                << type() << " " << name() << ": " << message.c_str() << nl
                << "    (failOnError yes; set failOnError no to warn and"
                << " continue without the surrogate)" << nl
                << exit(FatalIOError);
        }
        FatalErrorInFunction
            << type() << " " << name() << ": " << message.c_str() << nl
            << exit(FatalError);
    }

    WarningInFunction
        << type() << " " << name() << ": " << message.c_str() << nl
        << "    failOnError no: the solver continues without the surrogate"
        << endl;
    disabled_ = true;
    surrogate_.reset();
}


template<class F>
bool Foam::functionObjects::echoSurrogate::guarded
(
    const char* what,
    bool atRead,
    F&& f
)
{
    string message;
    try
    {
        f();
    }
    catch (const echo::Error& e)
    {
        // The kind's stable name, as the echo-onnx CLI's --json reports it, so that a log can be
        // matched on it; an internal error is a bug to report, not a setting to fix.
        message =
            string(what) + ": " + e.what() + " [echo-onnx: " + echo::name(e.kind())
          + (e.kind() == echo::ErrorKind::Internal ? ", please report it" : "")
          + "]";
    }
    catch (const std::exception& e)
    {
        message = string(what) + ": " + e.what();
    }

    // Every rank learns every rank's outcome, so all fail (or go on) together.
    // ('+' or '-' first: an empty string cannot be streamed.)
    List<string> messages(Pstream::nProcs());
    messages[Pstream::myProcNo()] = (message.empty() ? "+" : "-") + message;
    Pstream::gatherList(messages);
    Pstream::scatterList(messages);

    forAll(messages, proci)
    {
        if (messages[proci][0] == '-')
        {
            string m = messages[proci].substr(1);
            if (Pstream::parRun())
            {
                m = "on rank " + Foam::name(proci) + ", " + m;
            }
            fail(m, atRead);
            return false;
        }
    }
    return true;
}


template<class T>
bool Foam::functionObjects::echoSurrogate::lookup
(
    const dictionary& dict,
    const word& key,
    T& value,
    const T* deflt
)
{
    // OpenFOAM's own message for a missing or malformed entry (it names the entry and its line),
    // reported through fail() so that failOnError no turns it into a warning too.
    const string message = ioError([&]
    {
        value = deflt ? dict.lookupOrDefault<T>(key, *deflt) : dict.get<T>(key);
    });
    return message.empty() || badEntry(key, message);
}


bool Foam::functionObjects::echoSurrogate::badEntry
(
    const word& key,
    const string& message
)
{
    fail("entry '" + key + "': " + message, true);
    return false;
}


bool Foam::functionObjects::echoSurrogate::readSettings(const dictionary& dict)
{
    // failOnError first: it decides how a problem with any other entry is reported.
    const Switch yes(true);
    Switch failOnError(true);
    if (!lookup(dict, "failOnError", failOnError, &yes)) return false;
    failOnError_ = failOnError;

    word mode(modeTypeNames_[modeType::surrogate]);
    const word surrogate(mode);
    if (!lookup(dict, "mode", mode, &surrogate)) return false;
    if (!modeTypeNames_.found(mode))
    {
        return badEntry
        (
            "mode", "'" + mode + "' is not a mode: use surrogate or warmStart"
        );
    }
    mode_ = modeTypeNames_[mode];

    if (!lookup<fileName>(dict, "bundle", bundleDir_, nullptr)) return false;
    bundleDir_.expand();
    if (!lookup<wordList>(dict, "fields", fieldNames_, nullptr)) return false;
    if (fieldNames_.empty())
    {
        return badEntry("fields", "the list is empty; give the bundle's fields");
    }

    parameters_.clear();
    if (dict.found("parameters"))
    {
        if (!dict.isDict("parameters"))
        {
            return badEntry("parameters", "must be a dictionary of name value pairs");
        }
        const string message = ioError([&]
        {
            for (const entry& e : dict.subDict("parameters"))
            {
                std::ostringstream s;
                s.precision(17);
                s << e.keyword().c_str() << "=" << readScalar(e.stream());
                parameters_.append(string(s.str()));
            }
        });
        if (!message.empty()) return badEntry("parameters", message);
    }

    // interval and maxSpread: absent (-1) means a forecast per segment and no threshold.
    const word cpu("cpu");
    const label zero(0);
    const label one(1);
    const scalar never(-1);
    const fileName none(fileName::null);
    const word bundles(word::null);
    const scalar start = time_.startTime().value();
    interval_ = -1;
    maxSpread_ = -1;
    const bool hasInterval = dict.found("interval");
    const bool hasMaxSpread = dict.found("maxSpread");
    if
    (
        !lookup(dict, "device", device_, &cpu)
     || !lookup(dict, "threads", threads_, &zero)
     || !lookup(dict, "ortLib", ortLib_, &none)
     || !lookup(dict, "horizon", horizon_, &zero)
     || !lookup(dict, "steps", steps_, &zero)
     || !lookup(dict, "method", method_, &bundles)
     || !lookup(dict, "seed", seed_, &zero)
     || !lookup(dict, "warmStartTime", warmStartTime_, &start)
     || !lookup(dict, "warmStartFrame", warmStartFrame_, &zero)
     || !lookup(dict, "ensemble", ensemble_, &one)
     || (hasInterval && !lookup(dict, "interval", interval_, &never))
     || (hasMaxSpread && !lookup(dict, "maxSpread", maxSpread_, &never))
    )
    {
        return false;
    }
    ortLib_.expand();

    return checkSettings(hasInterval, hasMaxSpread);
}


bool Foam::functionObjects::echoSurrogate::checkSettings
(
    bool hasInterval,
    bool hasMaxSpread
)
{
    // The values' bounds and messages are echo-onnx's (the CLI's too), checked before the bundle
    // is opened, and again once it is (its frames bound warmStartFrame); the entries are
    // echo::Settings' names.
    echo::Settings settings;
    settings.device = device_;
    settings.method = method_;
    settings.threads = threads_;
    settings.horizon = horizon_;
    settings.steps = steps_;
    settings.seed = seed_;
    settings.warm_start_frame = warmStartFrame_;
    settings.ensemble = ensemble_;
    settings.has_interval = hasInterval;
    settings.interval = interval_;
    settings.has_max_spread = hasMaxSpread;
    settings.max_spread = maxSpread_;
    settings.warm_start = mode_ == modeType::warmStart;
    settings.warm_start_time = warmStartTime_;
    settings.end_time = time_.endTime().value();
    settings.time_step = time_.deltaTValue();
    settings.frames = surrogate_ ? surrogate_->frames() : 0;
    try
    {
        echo::check_settings(settings);
    }
    catch (const echo::SettingError& e)
    {
        return badEntry(e.setting(), e.what());
    }
    return true;
}


Foam::scalarField Foam::functionObjects::echoSurrogate::gatherLocal() const
{
    const label C = sum(components_);
    scalarField out(mesh_.nCells()*C);
    label c0 = 0;
    forAll(fieldNames_, fi)
    {
        toChannels(mesh_.lookupObject<regIOobject>(fieldNames_[fi]), C, c0, components_[fi], out);
        c0 += components_[fi];
    }
    return out;
}


void Foam::functionObjects::echoSurrogate::setOutput
(
    outputType out,
    const scalarField& values
)
{
    const label C = sum(components_);
    label c0 = 0;
    forAll(fieldNames_, fi)
    {
        if (outputs_[out].set(fi))
        {
            fromChannels(values, C, c0, components_[fi], true, outputs_[out][fi]);
        }
        c0 += components_[fi];
    }
}


bool Foam::functionObjects::echoSurrogate::evaluate(label k, Predicted& values)
{
    // The outputs written (initialise() chose them) are the values needed: ensemble 1: the
    // prediction (<field>Echo). Ensemble: the mean and std; in warmStart mode also member 0 (the
    // seed's), the state put into the fields.
    const label size = mesh_.nCells()*sum(components_);
    return guarded("cannot evaluate the prediction", false, [&]
    {
        for (label out = 0; out < nOutputs; ++out)
        {
            values[out].setSize(outputs_[out].set(0) ? size : 0);
        }
        if (values[echoOutput].size())
        {
            surrogate_->prediction(k, values[echoOutput].data());
        }
        if (values[meanOutput].size())
        {
            surrogate_->prediction_stats(k, values[meanOutput].data(), values[stdOutput].data());
        }
    });
}


void Foam::functionObjects::echoSurrogate::setOutputs(const Predicted& values)
{
    for (label out = 0; out < nOutputs; ++out)
    {
        if (values[out].size()) setOutput(outputType(out), values[out]);
    }
    echoValid_ = true;
}


void Foam::functionObjects::echoSurrogate::replaceFields
(
    const scalarField& values
)
{
    const label C = sum(components_);
    label c0 = 0;
    forAll(fieldNames_, fi)
    {
        const word& fname = fieldNames_[fi];
        fromChannels(values, C, c0, components_[fi], false, mesh_.lookupObjectRef<regIOobject>(fname));
        c0 += components_[fi];
    }

    // Keep the volumetric flux consistent with a replaced velocity
    const volVectorField* U = mesh_.getObjectPtr<volVectorField>("U");
    surfaceScalarField* phi = mesh_.getObjectPtr<surfaceScalarField>("phi");
    if (fieldNames_.found("U") && U && phi && phi->dimensions() == dimVolume/dimTime)
    {
        *phi = fvc::flux(*U);
    }
}


bool Foam::functionObjects::echoSurrogate::initialise()
{
    const scalar t0 = mesh_.time().value();
    const scalar deltaT = mesh_.time().deltaTValue();

    // The case's fields and the mesh's dimension
    const label dim = mesh_.nSolutionD();
    components_.setSize(fieldNames_.size());
    // The outputs written: <field>Echo without an ensemble and in warmStart mode (the state put
    // into the fields); <field>EchoMean and <field>EchoStd with an ensemble.
    bool written[nOutputs] =
    {
        ensemble_ == 1 || mode_ == modeType::warmStart, ensemble_ > 1, ensemble_ > 1
    };
    for (label out = 0; out < nOutputs; ++out)
    {
        outputs_[out].clear();
        outputs_[out].setSize(fieldNames_.size());
    }
    std::vector<echo::Field> caseFields;
    forAll(fieldNames_, fi)
    {
        const word& fname = fieldNames_[fi];
        regIOobject* field = findField(mesh_, fname);
        if (!field)
        {
            fail
            (
                "the case has no volScalarField or volVectorField '" + fname
              + "' (entry 'fields')",
                true
            );
            return false;
        }
        components_[fi] = isA<volScalarField>(*field) ? 1 : dim;
        for (label out = 0; out < nOutputs; ++out)
        {
            if (!written[out]) continue;
            const IOobject io
            (
                fname + outputSuffix[out],
                mesh_.time().timeName(),
                mesh_,
                IOobject::NO_READ,
                IOobject::NO_WRITE
            );
            outputs_[out].set(fi, echoField(io, *field));
        }
        caseFields.push_back(echo::Field{fname, std::size_t(components_[fi])});
    }
    if (dim == 2 && mesh_.solutionD()[vector::Z] != -1)
    {
        fail("2D cases must be empty in z (the bundle's grid is in x and y)", true);
        return false;
    }

    // Open the bundle on every rank (the ranks evaluate the decoded grid themselves)
    const auto start = std::chrono::steady_clock::now();
    bool ok = guarded("cannot use the bundle", true, [&]
    {
        surrogate_.reset
        (
            new echo::Surrogate(bundleDir_, device_, threads_, ortLib_)
        );
        surrogate_->check_case(caseFields, dim);
        surrogate_->set_sampler(steps_, method_);
        surrogate_->set_seed(seed_);
        surrogate_->set_ensemble(ensemble_);
    });
    if (!ok) return false;
    ok = guarded("entry 'parameters'", true, [&]
    {
        std::vector<std::string> given;
        for (const string& p : parameters_) given.push_back(p);
        surrogate_->set_parameters(given);
    });
    if (!ok) return false;

    // The bundle's frames bound warmStartFrame (interval and maxSpread, if given, passed as > 0)
    if (!checkSettings(interval_ > 0, maxSpread_ > 0)) return false;

    // The cells: centres and global ids
    const vectorField& C = mesh_.C().primitiveField();
    const label n = C.size();
    std::vector<double> xyz(3*n);
    std::vector<std::int64_t> ids(n);
    forAll(C, i)
    {
        for (label d = 0; d < 3; ++d) xyz[3*i + d] = C[i][d];
        ids[i] = i;
    }
    if (Pstream::parRun())
    {
        IOobject addrIO
        (
            "cellProcAddressing",
            mesh_.facesInstance(),
            polyMesh::meshSubDir,
            mesh_,
            IOobject::MUST_READ,
            IOobject::NO_WRITE,
            false
        );
        bool found = addrIO.typeHeaderOk<labelIOList>(true);
        if (found)
        {
            labelIOList addr(addrIO);
            found = addr.size() == n;
            if (found) forAll(addr, i) ids[i] = addr[i];
        }
        if (!returnReduce(found, andOp<bool>()))
        {
            const globalIndex gi(n);
            forAll(C, i) ids[i] = gi.toGlobal(i);
            WarningInFunction
                << type() << " " << name() << ": no cellProcAddressing"
                << " (decomposePar writes it); ties between equidistant"
                << " cells are broken by rank order, which may differ from"
                << " a serial run" << endl;
        }
    }
    // Candidate selection, gather and the master's lift geometry: echo-onnx's protocol
    PstreamCommunicator comm;
    ok = guarded("cannot register the mesh", true, [&]
    {
        surrogate_->set_mesh(comm, xyz.data(), ids.data(), n);
    });
    if (!ok) return false;
    const label total = returnReduce(n, sumOp<label>());
    const label cloudSize =
        returnReduce(label(surrogate_->candidate_count()), sumOp<label>());
    const label covered =
        returnReduce(label(surrogate_->covered_nodes()), sumOp<label>());

    Info<< type() << " " << name() << ": bundle '" << surrogate_->name().c_str()
        << "' (" << bundleDir_ << ") on " << device_.c_str()
        << ", mode " << modeTypeNames_[mode_];
    if (ensemble_ > 1)
    {
        Info<< ", ensemble of " << ensemble_;
        if (maxSpread_ > 0) Info<< " (maxSpread " << maxSpread_ << ")";
    }
    Info<< ", fields " << fieldNames_
        << ", " << surrogate_->dim() << "D, dt " << fmt(surrogate_->dt()).c_str() << ", "
        << surrogate_->frames() << " frames per segment; " << total << " cells on "
        << Pstream::nProcs() << " rank(s), " << cloudSize
        << " gathered for the latent grid, " << covered
        << " latent grid nodes covered; ready in "
        << fmt(seconds(start)).c_str() << " s" << endl;

    if (mode_ == modeType::surrogate)
    {
        // The time loop is echo-onnx's: snapshots on start + k dt, forecasts every interval
        for
        (
            const std::string& w
          : surrogate_->set_schedule(t0, time_.endTime().value(), deltaT, interval_, horizon_)
        )
        {
            WarningInFunction << type() << " " << name() << ": " << w.c_str() << endl;
        }
        resetFile("error");
        if (Pstream::master())
        {
            // The table's title and columns are echo-onnx's (those of its monitor's numbers)
            writeHeader(file(), "echoSurrogate: " + surrogate_->score_title());
            writeHeader(file(), "bundle " + surrogate_->name());
            writeCommented(file(), "Time");
            writeTabbed(file(), "lead");
            for (const std::string& c : surrogate_->score_columns()) writeTabbed(file(), c);
            file() << endl;
        }
        // The start time is the first snapshot
        if (pushSnapshot(t0) && surrogate_->forecast_due(t0, deltaT)) forecast(t0);
    }
    else if (warmStartTime_ <= t0 + 0.5*deltaT)
    {
        warmStart(t0);
    }
    return true;
}


bool Foam::functionObjects::echoSurrogate::pushSnapshot(scalar t)
{
    const scalarField local = gatherLocal();
    PstreamCommunicator comm;
    return guarded("cannot take a snapshot", false, [&]
    {
        surrogate_->push_snapshot(comm, t, local.cdata());
    });
}


bool Foam::functionObjects::echoSurrogate::forecast(scalar t)
{
    const auto start = std::chrono::steady_clock::now();
    PstreamCommunicator comm;
    const bool ok = guarded("forecast failed", false, [&]
    {
        surrogate_->forecast(comm, horizon_);
    });
    if (!ok) return false;
    origin_ = t;
    const std::vector<double> times = surrogate_->predicted_times();
    Info<< type() << " " << name() << ": forecast " << times.size()
        << " frames from t = " << fmt(t).c_str() << " ("
        << fmt(times.front()).c_str() << " .. " << fmt(times.back()).c_str() << ")";
    if (ensemble_ > 1) Info<< ", ensemble of " << ensemble_ << ",";
    Info<< " in " << fmt(seconds(start)).c_str() << " s" << endl;
    return true;
}


bool Foam::functionObjects::echoSurrogate::warmStart(scalar t)
{
    const auto start = std::chrono::steady_clock::now();
    PstreamCommunicator comm;
    bool ok = guarded("generation failed", false, [&]
    {
        surrogate_->generate(comm, t);
    });
    Predicted values;
    if (!ok || !evaluate(warmStartFrame_, values)) return false;
    replaceFields(values[echoOutput]);
    setOutputs(values);
    warmStarted_ = true;
    Info<< type() << " " << name() << ": warm start at t = " << fmt(t).c_str()
        << ": replaced " << fieldNames_ << " with frame " << warmStartFrame_
        << " of the generated segment";
    if (parameters_.size())
    {
        std::string given;
        for (const string& p : parameters_) given += (given.empty() ? "" : " ") + p;
        Info<< " (parameters " << given.c_str() << ")";
    }
    if (ensemble_ > 1)
    {
        echo::Scores spread;
        ok = guarded("cannot measure the ensemble spread", false, [&]
        {
            spread = surrogate_->score
            (
                comm, t, 0, nullptr, values[meanOutput].cdata(), values[stdOutput].cdata()
            );
        });
        if (!ok) return false;
        Info<< "; member 0 of an ensemble of " << ensemble_ << ", relative spread";
        forAll(fieldNames_, fi)
        {
            Info<< " " << fieldNames_[fi] << " " << fmt(spread.spreads[fi]).c_str();
        }
    }
    Info<< " in " << fmt(seconds(start)).c_str() << " s" << endl;
    return true;
}


void Foam::functionObjects::echoSurrogate::compare(label k, scalar t)
{
    // The error (with an ensemble, of its mean) and the spread: echo-onnx's monitor
    Predicted values;
    if (!evaluate(k, values)) return;
    const bool ensemble = ensemble_ > 1;
    const scalarField local = gatherLocal();
    PstreamCommunicator comm;
    echo::Scores scores;
    const bool ok = guarded("cannot compare with the solver", false, [&]
    {
        scores = surrogate_->score
        (
            comm, t, t - origin_, local.cdata(),
            values[ensemble ? meanOutput : echoOutput].cdata(),
            ensemble ? values[stdOutput].cdata() : nullptr, maxSpread_
        );
    });
    if (!ok) return;
    Info<< type() << " " << name() << ": " << scores.summary.c_str() << endl;

    if (Pstream::master())
    {
        OFstream& os = file();
        os.precision(10);
        os << t << token::TAB << (t - origin_);
        for (const scalar e : scores.errors) os << token::TAB << e;
        for (const scalar s : scores.spreads) os << token::TAB << s;
        os << endl;
    }

    // maxSpread: a prediction the ensemble does not agree on is not shown, and no other follows.
    if (!scores.stop.empty())
    {
        std::string fields;
        forAll(fieldNames_, fi)
        {
            fields += " " + fieldNames_[fi] + "EchoMean " + fieldNames_[fi] + "EchoStd";
        }
        WarningInFunction
            << type() << " " << name() << ": " << scores.stop.c_str()
            << nl << "    From now on: no forecasts, no further error.dat rows,"
            << " no" << fields.c_str() << " (those written before t = "
            << fmt(t).c_str() << " hold trusted predictions); the solver runs"
            << " on." << endl;
        surrogate_->stop_schedule();
        echoValid_ = false;
        return;
    }

    setOutputs(values);
}


// * * * * * * * * * * * * * * * * Constructors  * * * * * * * * * * * * * * //

Foam::functionObjects::echoSurrogate::echoSurrogate
(
    const word& name,
    const Time& runTime,
    const dictionary& dict
)
:
    fvMeshFunctionObject(name, runTime, dict),
    writeFile(mesh_, name, word("error"), true),
    mode_(modeType::surrogate),
    threads_(0),
    interval_(-1),
    horizon_(0),
    steps_(0),
    seed_(0),
    warmStartTime_(runTime.startTime().value()),
    warmStartFrame_(0),
    ensemble_(1),
    maxSpread_(-1),
    failOnError_(true),
    readDict_(nullptr),
    disabled_(false),
    warmStarted_(false),
    origin_(0),
    echoValid_(false)
{
    read(dict);
}


// * * * * * * * * * * * * * * * * Destructor  * * * * * * * * * * * * * * * //

Foam::functionObjects::echoSurrogate::~echoSurrogate()
{}


// * * * * * * * * * * * * * * * Member Functions  * * * * * * * * * * * * * //

bool Foam::functionObjects::echoSurrogate::read(const dictionary& dict)
{
    fvMeshFunctionObject::read(dict);
    writeFile::read(dict);

    // Every entry is checked here, and the first read also opens the bundle, checks the entries
    // that depend on it and does the first snapshot, forecast or warm start: while readDict_ is
    // set, fail() raises an IO error, the only kind that stops the run at this stage.
    readDict_ = &dict;
    if (readSettings(dict) && !surrogate_ && !disabled_)
    {
        initialise();
    }
    else if (surrogate_ && label(surrogate_->ensemble()) != ensemble_)
    {
        // A dictionary edited during the run (runTimeModifiable): the written fields and the
        // error.dat columns were chosen for the ensemble the run started with.
        WarningInFunction
            << type() << " " << name() << ": ensemble " << ensemble_
            << " cannot take effect during a run; it stays "
            << surrogate_->ensemble() << " until the run restarts" << endl;
        ensemble_ = surrogate_->ensemble();
    }
    readDict_ = nullptr;
    return true;
}


bool Foam::functionObjects::echoSurrogate::execute()
{
    if (disabled_ || !surrogate_)
    {
        return true;
    }
    const scalar t = mesh_.time().value();
    const scalar deltaT = mesh_.time().deltaTValue();

    if (mode_ == modeType::warmStart)
    {
        if (!warmStarted_ && t >= warmStartTime_ - 0.5*deltaT)
        {
            warmStart(t);
        }
        return true;
    }

    // The time loop is echo-onnx's (a failed snapshot or forecast is tried at the next snapshot)
    if (!surrogate_->snapshot_due(t, deltaT))
    {
        return true;
    }
    for (const std::size_t k : surrogate_->frames_at(t, deltaT))
    {
        compare(k, t);
    }
    if (pushSnapshot(t) && surrogate_->forecast_due(t, deltaT))
    {
        forecast(t);
    }
    return true;
}


bool Foam::functionObjects::echoSurrogate::write()
{
    if (disabled_ || !echoValid_ || !mesh_.time().writeTime())
    {
        return true;
    }
    Info<< type() << " " << name() << ": wrote";
    for (label out = 0; out < nOutputs; ++out)
    {
        forAll(fieldNames_, fi)
        {
            if (outputs_[out].set(fi))
            {
                outputs_[out][fi].write();
                Info<< " " << outputs_[out][fi].name();
            }
        }
    }
    Info<< " at t = " << mesh_.time().timeName() << endl;
    return true;
}


// ************************************************************************* //
